"""What people read: every error has a Chinese message, every command says what it does."""

from __future__ import annotations

import argparse
import re

from juanzong.shared.cli import build_parser
from juanzong.shared.errors import MESSAGES, AppError, ErrorCode

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_error_code_has_a_chinese_message_that_renders():
    assert set(MESSAGES) == set(ErrorCode)
    for code in ErrorCode:
        assert CJK.search(MESSAGES[code]), code
        fields = set(re.findall(r"{(\w+)}", MESSAGES[code]))
        err = AppError(code, **{f: "X" for f in fields})
        assert "{" not in err.message and err.to_dict()["error"] == str(code)


def _commands(parser: argparse.ArgumentParser, prefix: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", helps.get(name)
                yield from _commands(sub, f"{prefix}{name} ")


def test_every_command_has_help():
    commands = dict(_commands(build_parser()))
    for expected in (
        "case-number",
        "deadline",
        "profiles",
        "demo",
        "bench ingest",
        "edge init",
        "edge intake add",
        "edge cover-sheet",
        "edge run",
        "edge ingest",
        "edge status",
        "edge active",
        "edge close",
        "edge replace",
        "edge pair",
        "central init",
        "central serve",
        "central enroll",
        "central report",
        "central verify",
        "central export-page",
    ):
        assert expected in commands, expected
    missing = [name for name, help_text in commands.items() if not help_text]
    assert missing == []


def test_the_readme_names_the_two_commands():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert "make demo" in readme and "make test" in readme
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text("utf-8")
    assert "make test" in ci
