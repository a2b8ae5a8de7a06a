"""Every command, run the way a new user runs it: no traceback, ever.

The command tree is read from the real parser, so a command added later is
swept too. Each leaf command gets: no arguments, a home that does not exist,
and — on a real appliance home and a real central home — hostile values for
every argument it requires (ids of the wrong kind, path traversal, SQL, a
5,000-character string, an unwritable output path). Whatever it does, it must
end with exit 0, 1 or 2, and a failure must be one line `错误 CODE: 中文…` with
no Python traceback. Closed pipes (`| head -1`) and the order of log lines are
checked on real child processes.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from juanzong.shared import cli
from juanzong.shared.ids import Kind, new_id

ERROR_LINE = re.compile(r"^错误 [A-Z][A-Z0-9_]+: .*[\u4e00-\u9fff]")
NEVER = ("demo", "bench", "edge run", "edge documents-worker", "central serve")  # also central serve-office  # long-running or heavy: swept for usage only
HOSTILE = ("../../../../etc/passwd", "' OR 1=1 --", "x" * 5000, "（2026）京0102民初１号\u202e", "-")


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    out = []
    for name, child in subs[0].choices.items():
        out += leaves(child, path + (name,))
    return out + ([(path, parser)] if parser.get_default("func") else [])


COMMANDS = leaves(cli.build_parser())


def never(path: tuple[str, ...]) -> bool:
    return any(" ".join(path).startswith(n) for n in NEVER)


def required(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
            and (not a.option_strings or a.required)]


def fill(parser: argparse.ArgumentParser, value: str) -> list[str]:
    argv = []
    for action in required(parser):
        v = action.choices[0] if action.choices else value
        argv += [action.option_strings[0], str(v)] if action.option_strings else [str(v)]
    return argv


def run_inprocess(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
    return rc, out.getvalue(), err.getvalue()


def assert_clean(argv: list[str], rc: int, stdout: str, stderr: str) -> None:
    shown = " ".join(a[:40] for a in argv)
    assert "Traceback" not in stderr + stdout, f"{shown}\n{stderr}"
    assert rc in (0, 1, 2), f"{shown}: exit {rc}\n{stderr}"
    if rc:
        errors = [line for line in stderr.splitlines() if line.startswith("错误 ")]
        assert errors and all(ERROR_LINE.match(e) for e in errors), f"{shown}: exit {rc}\n{stderr}"


def command_id(item) -> str:
    return " ".join(item[0]) or "juanzong"


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> dict[str, Path]:
    """A real appliance home and a real central home (loopback, no TLS)."""
    root = tmp_path_factory.mktemp("sweep")
    env = {**os.environ}
    env.pop("JUANZONG_HOME", None)
    central, edge = root / "central", root / "edge"
    base = [sys.executable, "-P", "-m", "juanzong.shared.cli"]
    subprocess.run([*base, "central", "init", "--home", str(central), "--no-tls"], check=True, capture_output=True, env=env)
    subprocess.run([*base, "edge", "init", "--home", str(edge), "--profile", "simulated",
                    "--central", str(central / "central-identity.json")], check=True, capture_output=True, env=env)
    return {"edge": edge, "central": central, "root": root}


@pytest.fixture(autouse=True)
def _no_env_home(monkeypatch, tmp_path):
    """No home from the environment; relative output paths land in a scratch folder, never in the repository."""
    monkeypatch.delenv("JUANZONG_HOME", raising=False)
    monkeypatch.delenv("JUANZONG_CENTRAL_HOME", raising=False)
    scratch = tmp_path / "cwd"
    scratch.mkdir()
    monkeypatch.chdir(scratch)


@pytest.mark.parametrize("command", COMMANDS, ids=command_id)
def test_missing_arguments_and_a_home_that_does_not_exist(command, tmp_path):
    path, parser = command
    if never(path) and not required(parser):
        pytest.skip("would start the long-running service")
    rc, out, err = run_inprocess([*path])
    assert_clean([*path], rc, out, err)
    if any(a.dest == "home" for a in parser._actions) and not never(path):
        argv = [*path, "--home", str(tmp_path / "nowhere"), *fill(parser, "x")]
        rc, out, err = run_inprocess(argv)
        assert_clean(argv, rc, out, err)
        assert rc != 0 or path[-1] == "init"  # init makes the home it is given


@pytest.mark.parametrize("command", [c for c in COMMANDS if not never(c[0])], ids=command_id)
def test_hostile_values_on_a_real_home(command, homes, tmp_path):
    path, parser = command
    home = homes["central"] if path[:1] == ("central",) else homes["edge"]
    has_home = any(a.dest == "home" for a in parser._actions)
    values = (*HOSTILE, new_id(Kind.INTAKE), new_id(Kind.PAGE), new_id(Kind.ITEM), "/proc/no/such/dir/out.png")
    for value in values:
        argv = [*path, *(["--home", str(home)] if has_home else []), *fill(parser, value)]
        if path[-1:] == ("init",):
            argv = [*path, "--home", str(tmp_path / "init-target"), *fill(parser, value)]
        rc, out, err = run_inprocess(argv)
        assert_clean(argv, rc, out, err)


# --------------------------------------------------------------------------- real processes


def child(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("JUANZONG_HOME", "JUANZONG_CENTRAL_HOME")}
    return subprocess.run([sys.executable, "-P", "-m", "juanzong.shared.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, **kw)


@pytest.mark.parametrize("argv", [
    ("edge", "status", "--home", "{edge}"),
    ("edge", "quarantine", "--home", "{edge}"),
    ("edge", "--help"),
    ("profiles",),
    ("central", "report", "--home", "{central}"),
])
def test_a_reader_that_closes_the_pipe_gets_no_traceback(argv, homes):
    """`juanzong … | head -1`: the first line, then nothing — no BrokenPipeError text."""
    args = [a.format(**homes) for a in argv]
    env = {k: v for k, v in os.environ.items() if k not in ("JUANZONG_HOME",)}
    shell = " ".join(f"'{a}'" for a in [sys.executable, "-P", "-m", "juanzong.shared.cli", *args]) + " | head -1"
    run = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr
    assert run.stdout.strip(), run.stderr
    assert run.returncode == 0, run.stderr


def test_log_lines_never_come_before_the_chinese_error(homes, tmp_path):
    """Short commands log only warnings, so the first thing on the terminal is the error itself."""
    runs = [child("edge", "cover-sheet", "--home", str(homes["edge"]), new_id(Kind.ITEM), "--out", str(tmp_path / "c.png")),
            child("central", "report", "--home", str(tmp_path / "nowhere")),
            child("edge", "intake", "add", "--home", str(homes["edge"]), "--case", "（2026）京0102民初1号",
                  "--submitter", "王五", "--item", "起诉状:0")]
    for run in runs:
        assert run.returncode == 1
        assert ERROR_LINE.match(run.stderr.splitlines()[0]), run.stderr


def test_usage_errors_exit_2_in_chinese_and_help_is_chinese():
    run = child("edge", "close")
    assert run.returncode == 2 and "错误 USAGE_INVALID: 命令用法有误：缺少必需的参数：材料编号" in run.stderr
    assert "用法：" in run.stderr
    for path, parser in COMMANDS:
        text = parser.format_help()
        assert "show this help" not in text and "usage:" not in text, " ".join(path)
        helps = [a.help for a in parser._actions if a.help and a.help != argparse.SUPPRESS]
        english = [h for h in helps if not re.search(r"[\u4e00-\u9fff]", h)]
        assert english == [], (" ".join(path), english)
