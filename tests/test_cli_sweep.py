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
NEVER = (
    "demo",
    "bench",
    "edge run",
    "edge documents-worker",
    "central serve",
)  # also central serve-office  # long-running or heavy: swept for usage only
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
    return [
        a
        for a in parser._actions
        if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and (not a.option_strings or a.required)
    ]


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
        # an internal error hides a traceback: a user's mistake always gets its own code
        assert not any(e.startswith(("错误 COMMAND_FAILED", "错误 INGEST_FAILED")) for e in errors), f"{shown}\n{stderr}"


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
    subprocess.run(
        [*base, "edge", "init", "--home", str(edge), "--profile", "simulated", "--central", str(central / "central-identity.json")],
        check=True,
        capture_output=True,
        env=env,
    )
    return {"edge": edge, "central": central, "root": root}


@pytest.fixture(autouse=True)
def _no_env_home(monkeypatch, tmp_path):
    """No home from the environment; relative output paths land in a scratch folder, never in the repository."""
    monkeypatch.delenv("JUANZONG_HOME", raising=False)
    monkeypatch.delenv("JUANZONG_CENTRAL_HOME", raising=False)
    scratch = tmp_path / "a" / "b" / "c" / "d" / "cwd"  # deep enough that ../../../../etc/passwd stays in tmp_path
    scratch.mkdir(parents=True)
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


# ---------------------------------------------------------- operator commands: every option

OPERATOR = ("pages", "assign", "discard", "reopen", "replace", "close", "active", "quarantine", "config", "init")
WRONG_KIND = (new_id(Kind.INTAKE), new_id(Kind.PAGE), new_id(Kind.ITEM), "P-0000-0000-0", "M 4K7Q 9X2M T")
BAD_NUMBERS = ("0", "-3", "1e9", "abc", "99999999999999999999")


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Options that take a value (flags and --home aside)."""
    return [
        a for a in parser._actions if a.option_strings and a.nargs != 0 and a.dest != "home" and not isinstance(a, argparse._HelpAction)
    ]


@pytest.mark.parametrize("command", [c for c in COMMANDS if c[0][:1] == ("edge",) and c[0][1:2] and c[0][1] in OPERATOR], ids=command_id)
def test_every_option_of_the_operator_commands_with_wrong_and_hostile_values(command, homes, tmp_path):
    """pages, assign (--item, --at), discard, reopen, replace, close, config, init (--court,
    --hot-folder, --printer, --court-network …): each option, one at a time, with hostile values,
    ids of the wrong kind and impossible numbers, on a real home (init: a fresh one each time)."""
    path, parser = command
    for n, action in enumerate(options(parser)):
        for value in (*HOSTILE, *WRONG_KIND, *BAD_NUMBERS, "/proc/no/such/dir", ""):
            base = [a for a in fill(parser, new_id(Kind.ITEM)) if a not in action.option_strings]
            if path[-1] == "init":
                home = tmp_path / f"init-{n}-{len(value)}-{abs(hash(value)) % 10_000}"
                argv = [*path, "--home", str(home), *base, action.option_strings[0], value]
            else:
                argv = [*path, "--home", str(homes["edge"]), *base, action.option_strings[0], value]
            rc, out, err = run_inprocess(argv)
            assert_clean(argv, rc, out, err)


@pytest.fixture
def own_home(homes, tmp_path) -> Path:
    """A copy of the sweep's appliance home, for commands that change it."""
    import shutil

    home = tmp_path / "edge"
    shutil.copytree(homes["edge"], home)
    config = home / "config.toml"
    config.write_text(config.read_text("utf-8").replace(str(homes["edge"]), str(home)), "utf-8")
    return home


@pytest.mark.slow  # dozens of `edge config set` processes, then the home checked after each
def test_config_set_every_setting_with_hostile_values_keeps_the_home_usable(own_home):
    """Each setting `edge config set` knows, with hostile values: refused with a code and a
    Chinese reason, or accepted — and after either, the appliance still starts its commands."""
    from juanzong.edge.config import SETTINGS

    for setting in SETTINGS:
        for value in (*HOSTILE, "0", "-1", "10.0.0.0/33", "0.0.0.0/0", "", "/proc/no/such/dir"):
            argv = ["edge", "config", "set", "--home", str(own_home), setting.name, value]
            rc, out, err = run_inprocess(argv)
            assert_clean(argv, rc, out, err)
            if rc:
                continue  # refused: nothing was written
            for check in (["edge", "config", "show", "--home", str(own_home)], ["edge", "status", "--home", str(own_home)]):
                rc, out, err = run_inprocess(check)
                assert rc == 0 and "Traceback" not in err, (argv, check, err)


def test_wrong_kinds_of_id_are_named_in_chinese(homes):
    """A page id where an item belongs (and the reverse) is refused as such, not as a crash."""
    page, item = new_id(Kind.PAGE), new_id(Kind.ITEM)
    for argv in (
        ["edge", "pages", page],
        ["edge", "close", page],
        ["edge", "reopen", page, "--reason", "补扫"],
        ["edge", "discard", item, "--reason", "误扫"],
        ["edge", "replace", item],
        ["edge", "assign", item, "--item", page],
        ["edge", "assign", page, "--item", item, "--at", "0"],
    ):
        argv = [*argv[:2], "--home", str(homes["edge"]), *argv[2:]]
        rc, out, err = run_inprocess(argv)
        assert_clean(argv, rc, out, err)
        assert rc in (1, 2), argv


# --------------------------------------------------------------------------- real processes


def child(*args: str, stdout=subprocess.PIPE, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("JUANZONG_HOME", "JUANZONG_CENTRAL_HOME")}
    return subprocess.run(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        env=env,
        **kw,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ("edge", "status", "--home", "{edge}"),
        ("edge", "quarantine", "--home", "{edge}"),
        ("edge", "--help"),
        ("profiles",),
        ("central", "report", "--home", "{central}"),
    ],
)
def test_a_reader_that_closes_the_pipe_gets_no_traceback(argv, homes):
    """`juanzong … | head -1`: the first line, then nothing — no BrokenPipeError text."""
    args = [a.format(**homes) for a in argv]
    env = {k: v for k, v in os.environ.items() if k not in ("JUANZONG_HOME",)}
    shell = " ".join(f"'{a}'" for a in [sys.executable, "-P", "-m", "juanzong.shared.cli", *args]) + " | head -1"
    run = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr
    assert run.stdout.strip(), run.stderr
    assert run.returncode == 0, run.stderr


CLOSED_READERS = [
    ("edge", "pages", "--home", "{edge}", "--unassigned"),
    ("edge", "pages", "--home", "{edge}", "--unassigned", "--json"),
    ("edge", "config", "show", "--home", "{edge}"),
    ("edge", "status", "--home", "{edge}"),
    ("edge", "quarantine", "--home", "{edge}"),
    ("edge", "pages", "--help"),
    ("central", "report", "--home", "{central}"),
]


@pytest.mark.parametrize("argv", CLOSED_READERS)
def test_a_pipe_closed_before_the_first_write_gets_no_traceback(argv, homes):
    """The reader is gone before the command writes anything (`| head -0`, a dead pager): every
    write fails with EPIPE. No traceback, no BrokenPipe text, exit 0 — deterministic, no race."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        run = child(*[a.format(**homes) for a in argv], stdout=write_end)
    finally:
        os.close(write_end)
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr and "Exception ignored" not in run.stderr, run.stderr
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("argv", [("edge", "pages", "--home", "{edge}", "--unassigned"), ("edge", "config", "show", "--home", "{edge}")])
def test_head_one_on_the_operator_commands(argv, homes):
    test_a_reader_that_closes_the_pipe_gets_no_traceback(argv, homes)


def test_log_lines_never_come_before_the_chinese_error(homes, tmp_path):
    """Short commands log only warnings, so the first thing on the terminal is the error itself."""
    runs = [
        child("edge", "cover-sheet", "--home", str(homes["edge"]), new_id(Kind.ITEM), "--out", str(tmp_path / "c.png")),
        child("central", "report", "--home", str(tmp_path / "nowhere")),
        child(
            "edge",
            "intake",
            "add",
            "--home",
            str(homes["edge"]),
            "--case",
            "（2026）京0102民初1号",
            "--submitter",
            "王五",
            "--item",
            "起诉状:0",
        ),
    ]
    for run in runs:
        assert run.returncode == 1
        assert ERROR_LINE.match(run.stderr.splitlines()[0]), run.stderr


# long-running services, tooling, and commands whose output is a file (their one line goes to stderr)
NO_JSON = (
    "demo",
    "bench",
    "edge run",
    "edge documents-worker",
    "central serve",
    "central user add",
    "central user disable",
    "central document",
    "central export-page",
    "central backup keygen",
)


def test_every_command_has_json_beside_its_chinese_summary():
    """Point 5: a short Chinese summary by default, the JSON a program reads with --json."""
    missing = [
        " ".join(path)
        for path, parser in COMMANDS
        if path
        and parser.get_default("func")
        and not any(" ".join(path).startswith(n) for n in NO_JSON)
        and not any("--json" in a.option_strings for a in parser._actions)
    ]
    assert missing == []


def test_summaries_by_default_json_on_request(homes):
    """A few commands run both ways on a real home: Chinese lines by default, JSON with --json."""
    import json

    for argv in (
        ["edge", "status", "--home", str(homes["edge"])],
        ["edge", "config", "show", "--home", str(homes["edge"])],
        ["edge", "pages", "--unassigned", "--home", str(homes["edge"])],
        ["central", "migrate", "--home", str(homes["central"])],
        ["central", "report", "--home", str(homes["central"])],
    ):
        rc, out, err = run_inprocess(argv)
        assert rc == 0 and re.search(r"[\u4e00-\u9fff]", out) and not out.lstrip().startswith(("{", "[")), (argv, out)
        rc, out, err = run_inprocess([*argv, "--json"])
        assert rc == 0, err
        json.loads(out)


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
