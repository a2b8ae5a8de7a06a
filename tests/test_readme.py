"""The README's "Using it" walk-through, run as written (issue 8, point 6).

The commands of steps 1-7 are read from README.md and run in order on this
machine: central and the appliance on loopback with mutual TLS, the scanner
simulated at step 5 and after `edge replace`. What a real site has and a test
cannot (the court's addresses, a tmpfs mount, a USB receipt printer, an
fi-7160's tmpfs requirement) is substituted, and the placeholders stand for
the ids the appliance printed. Every command must succeed with a Chinese
summary and no traceback.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from juanzong.edge.devices.profiles import profiles_root
from juanzong.edge.tooling.demo import free_port
from juanzong.edge.tooling.pages import blank_backside, text_page
from juanzong.edge.tooling.scanner import SimulatedScanner
from juanzong.shared.ids import format_id

REPO = Path(__file__).resolve().parents[1]
SKIPPED = ("$J edge run", "$J central serve")  # long-running: the test runs ingest --once and its own server


def _commands(section: str) -> list[str]:
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.split(r"\s#\s", line + " ")[0].strip()
            if line.startswith("$J ") or line.startswith("export JUANZONG_HOME="):
                commands.append(line.rstrip(" &"))
    return commands


def _using_it() -> str:
    text = (REPO / "README.md").read_text("utf-8")
    return text[text.index("## Using it") : text.index("### What scanners and PDF tools may send")]


def walkthrough() -> list[str]:
    """Steps 1-7 of "Using it", in order."""
    section = _using_it()
    return _commands(section[: section.index("**Reference**")])


def reference() -> list[str]:
    """The reference block: every other command, with its optional parts."""
    section = _using_it()
    return _commands(section[section.index("**Reference**") :])


def test_the_readme_names_every_command():
    """Point 6: "every command" — each leaf of the real parser appears in the README as `$J …`."""
    import argparse

    from juanzong.shared.cli import build_parser

    def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[str]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return [" ".join(path)]
        return [leaf for name, child in subs[0].choices.items() for leaf in leaves(child, (*path, name))]

    text = (REPO / "README.md").read_text("utf-8")
    named = set(re.findall(r"\$J ([a-z][a-z0-9 -]*)", text)) | set(re.findall(r"\| ([a-z][a-z0-9 -]*)", text))
    missing = [c for c in leaves(build_parser()) if not any(n == c or n.startswith(c + " ") for n in named)]
    assert missing == []


def test_every_reference_command_is_one_the_program_accepts():
    """Each documented line (optional parts included, the first of `A | B`) parses with the real parser."""
    from juanzong.shared.cli import build_parser

    lines = reference()
    assert len(lines) >= 20
    for line in lines:
        argv = shlex.split(line.replace("[", "").replace("]", "").split(" | ")[0])[1:]
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"README: {line} — not accepted (exit {exc.code})")
        assert callable(getattr(args, "func", None)) or hasattr(args, "handler"), line


def test_the_walkthrough_names_every_step():
    cmds = walkthrough()
    for needed in (
        "central init",
        "edge init",
        "central enroll",
        "edge pair",
        "edge config set",
        "edge intake add",
        "edge cover-sheet",
        "edge pages",
        "edge replace",
        "edge close",
        "edge reopen",
        "edge assign",
        "edge discard",
        "edge sync",
    ):
        assert any(needed in c for c in cmds), needed


class Site:
    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.env = {k: v for k, v in os.environ.items() if k != "JUANZONG_HOME"}
        self.env["JUANZONG_PROFILES"] = str(self._profiles())
        self.ids: dict[str, str] = {}
        self.server: subprocess.Popen | None = None

    def _profiles(self) -> Path:
        """The shipped profiles; the fi-7160 here may use a hot folder off tmpfs (a test machine)."""
        target = self.root / "profiles"
        shutil.copytree(profiles_root(), target)
        fi = target / "scanners" / "fujitsu-fi-7160.toml"
        fi.write_text(fi.read_text("utf-8").replace("tmpfs_required = true", "tmpfs_required = false"), "utf-8")
        return target

    def substitute(self, line: str) -> list[str]:
        subs = {
            "/srv/jz-central": str(self.root / "central"),
            "/var/lib/jz": str(self.root / "edge"),
            "/run/juanzong/hot": str(self.root / "hot"),
            "10.1.2.3:8470": f"127.0.0.1:{self.port}",
            "--host 10.1.2.3 --port 8470": f"--host 127.0.0.1 --port {self.port}",
            "--printer escpos-80mm": "--printer file-printer",
            "10.9.0.0/16": "127.0.0.0/8",
            "enrolment.json": str(self.root / "enrolment.json"),
            "--out cover-": f"--out {self.root}/cover-",
        }
        for old, new in sorted(subs.items(), key=lambda kv: -len(kv[0])):
            line = line.replace(old, new)
        for placeholder, real in self.ids.items():
            line = line.replace(placeholder, real)
        return shlex.split(line)

    def run(self, argv: list[str], *, summary: bool = True) -> subprocess.CompletedProcess:
        assert argv[0] == "$J"
        run = subprocess.run(
            [sys.executable, "-P", "-m", "juanzong.shared.cli", *argv[1:]],
            capture_output=True,
            text=True,
            timeout=300,
            env=self.env,
            cwd=self.root,
        )
        shown = " ".join(argv)
        assert run.returncode == 0, f"{shown}\n{run.stderr}"
        assert "Traceback" not in run.stdout + run.stderr, shown
        if summary:
            assert re.search(r"[\u4e00-\u9fff]", run.stdout), f"{shown}: no Chinese summary\n{run.stdout}"
            assert not run.stdout.lstrip().startswith(("{", "[")), f"{shown}: JSON without --json"
        return run

    def json(self, *args: str):
        return json.loads(self.run(["$J", *args, "--json"], summary=False).stdout)

    def start_central(self) -> None:
        log = open(self.root / "central.log", "ab")
        self.server = subprocess.Popen(
            [sys.executable, "-P", "-m", "juanzong.shared.cli", "central", "serve", "--home", str(self.root / "central")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )

    def scan(self) -> None:
        """Step 5, duplex: two loose pages before any cover sheet, then each item after the cover sheet step 4 printed.

        The cover sheets are the PNG files `edge cover-sheet --out` wrote, fed back through the scanner."""
        from PIL import Image

        scanner = SimulatedScanner(self.root / "hot")
        scanner.write_many([text_page(91), text_page(92)])
        self.ingest()
        images = []
        for n, pages in enumerate((2, 2)):  # 起诉状's third page is one of the loose ones (assigned at step 6)
            with Image.open(self.root / f"cover-{n + 1}.png") as printed:
                images += [printed.convert("RGB"), blank_backside(n)]
            images += [img for k in range(pages) for img in (text_page(10 * n + k), blank_backside(10 * n + k))]
        scanner.write_many(images)
        self.ingest()

    def rescan_one_sheet(self) -> None:
        scanner = SimulatedScanner(self.root / "hot", start=500)
        scanner.write_many([text_page(77), blank_backside(77)])
        self.ingest()

    def ingest(self) -> None:
        self.run(["$J", "edge", "ingest", "--once", "--settle", "0.1"])

    def learn_ids(self) -> None:
        items = self.json("edge", "status")["items"]
        first = [p for p in self.json("edge", "pages", items[0]["id"]) if p["role"] == "page"]
        loose = self.json("edge", "pages", "--unassigned")
        self.ids.update(
            {
                "M-XXXX-XXXX-1": items[0]["id"],
                "M-XXXX-XXXX-2": items[1]["id"],
                "P-XXXX-XXXX-2": next(p["page_id"] for p in first if p["page_no"] == 2),
                "P-XXXX-XXXX-9": loose[0]["page_id"],
                "P-XXXX-XXXX-8": loose[1]["page_id"],
            }
        )


@pytest.mark.slow
def test_the_readme_walkthrough_runs_as_written(tmp_path):
    site = Site(tmp_path)
    said: list[tuple[str, str]] = []  # (README line, what the command printed)
    try:
        for line in walkthrough():
            if line.startswith("export JUANZONG_HOME="):
                site.env["JUANZONG_HOME"] = site.substitute(line.split("=", 1)[1])[0]
                continue
            if line.startswith(SKIPPED):
                if line.startswith("$J central serve"):
                    site.start_central()
                continue
            if "edge cover-sheet" in line and "M-XXXX-XXXX-1" not in site.ids:
                items = site.json("edge", "status")["items"]
                site.ids.update({"M-XXXX-XXXX-1": items[0]["id"], "M-XXXX-XXXX-2": items[1]["id"]})
            if "edge pages" in line and "P-XXXX-XXXX-2" not in site.ids:
                site.scan()  # step 5 happens between the cover sheets and the first look at the pages
                site.learn_ids()
            said.append((line, site.run(site.substitute(line)).stdout))
            if "edge replace" in line:
                site.rescan_one_sheet()
        check_outcomes(site, said)
    finally:
        if site.server is not None:
            site.server.terminate()
            site.server.wait(timeout=20)


def printed(said: list[tuple[str, str]], command: str) -> list[str]:
    return [out for line, out in said if command in line]


def check_outcomes(site: Site, said: list[tuple[str, str]]) -> None:
    ids = site.ids
    assert "北京市东城区人民法院" in printed(said, "edge config show")[0]
    first_close, last_close = printed(said, "edge close")
    assert "申报 3 页，实际 2 页" in first_close and "漏扫 1 页" in first_close
    assert "申报 3 页，实际 3 页" in last_close and "另有空白背面 2 页" in last_close and "漏扫" not in last_close
    assert format_id(ids["P-XXXX-XXXX-2"]) in printed(said, "edge pages M-")[0]

    listed = site.json("edge", "pages", ids["M-XXXX-XXXX-1"])
    numbered = [p for p in listed if p["page_no"]]
    assert [p["page_no"] for p in numbered] == list(range(1, len(numbered) + 1))  # gap-free, in page order
    by_id = {p["page_id"]: p for p in listed}
    assert by_id[ids["P-XXXX-XXXX-2"]]["role"] == "replaced"
    rescan = next(p for p in numbered if p["replaces"] == ids["P-XXXX-XXXX-2"])
    assert (rescan["page_no"], rescan["source_name"]) == (2, "scan_0501.jpg")  # the back follows its front
    assert by_id[ids["P-XXXX-XXXX-9"]]["page_no"] == 3  # assigned --at 3
    assert site.json("edge", "pages", "--unassigned") == []  # one assigned, one discarded

    report = site.json("central", "report", "--home", str(site.root / "central"))
    items = {i["item_id"]: i for i in report["intakes"][0]["items"]}
    first = items[ids["M-XXXX-XXXX-1"]]
    assert (first["declared_pages"], first["received_pages"], first["missing"], first["extra"]) == (3, 3, 0, 0)
    assert report["totals"]["discarded_unassigned_pages"] == 1 and report["totals"]["unattached_pages"] == 0
