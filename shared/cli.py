"""The one console script, `juanzong`.

Sub-commands: the shared domain tools (`case-number`, `deadline`, `profiles`),
`edge …` (the appliance), `central …` (the court server), `demo` and `bench`.
Each side registers its own sub-commands; heavy libraries are imported inside
the command functions so that `juanzong case-number` stays instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sqlite3
import sys
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from juanzong.shared import clock
from juanzong.shared.clitext import ChineseParser, db_failure, os_failure, quiet_broken_pipe
from juanzong.shared.errors import AppError, ErrorCode

COURT_TZ = ZoneInfo("Asia/Shanghai")


def print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False))


JSON_HELP = "以 JSON 输出（供程序读取）"


def fail(err: AppError) -> int:
    try:
        sys.stdout.flush()  # what was printed before the failure comes first
    except (BrokenPipeError, ValueError):
        quiet_broken_pipe()
    print(f"错误 {err.code}: {err.message}", file=sys.stderr)
    return 1


def cmd_case_number(args: argparse.Namespace) -> int:
    from juanzong.shared.caseno import parse_case_number

    case = parse_case_number(args.text)
    if args.json:
        print_json(case.to_dict())
        return 0
    print(f"规范案号：{case.canonical}")
    for warning in case.warnings:
        print(f"提示：{warning}")
    return 0


def cmd_deadline(args: argparse.Namespace) -> int:
    from juanzong.shared.workdays import compute_deadline, parse_received

    deadline = compute_deadline(parse_received(args.received), urgent=args.urgent)
    if args.json:
        print(json.dumps(deadline.to_dict(), ensure_ascii=False))
        return 0
    print(deadline.isoformat())  # the first line stays the bare ISO time, for scripts
    if deadline.provisional:
        print(f"（暂定）{deadline.source}")
    return 0


def cmd_calendar_status(args: argparse.Namespace) -> int:

    from juanzong.shared.workdays import default_calendar, print_years

    print_years(default_calendar().years_report(clock.now(COURT_TZ).date()), as_json=args.json)
    return 0


def cmd_profiles(args: argparse.Namespace) -> int:
    from juanzong.edge.devices.profiles import load_profiles

    profiles = load_profiles()
    if args.json:
        print_json([p.summary() for p in profiles])
        return 0
    for p in profiles:
        s = p.summary()
        print(f"{s['kind']:<8} {s['name']:<24} {s['title']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseParser(prog="juanzong", description="卷宗：扫描点设备与中心档案服务器")
    parser.add_argument("-v", "--verbose", action="store_true", help="显示详细日志（调试用）")
    sub = parser.add_subparsers(dest="command", required=True, title="子命令", metavar="命令")

    p = sub.add_parser("case-number", help="解析并规范案号", description="解析并规范案号，如（2024）京0102民初1234号")
    p.add_argument("text", metavar="案号")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_case_number)

    p = sub.add_parser("deadline", help="计算收取材料的办理时限", description="按收取时间计算办理时限（含节假日、调休）")
    p.add_argument("received", metavar="收取时间", help="ISO 格式，如 2026-03-02T10:30")
    p.add_argument("--urgent", action="store_true", help="加急")
    p.add_argument("--json", action="store_true", help="以 JSON 输出时限、是否暂定、依据和来源")
    p.set_defaults(func=cmd_deadline)

    cal = sub.add_parser("calendar", help="节假日日历数据").add_subparsers(
        dest="calendar_command", required=True, title="子命令", metavar="命令"
    )
    p = cal.add_parser("status", help="各年份的日历依据（正式或暂定）和来源")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_calendar_status)

    p = sub.add_parser("profiles", help="列出设备配置（扫描仪、打印机、设备型号）")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_profiles)

    from juanzong.central import cli as central_cli
    from juanzong.edge import cli as edge_cli

    edge_cli.register(sub)
    central_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit 0 done, 1 refused or failed (Chinese message and code on stderr), 2 usage."""
    args = build_parser().parse_args(argv)
    _logging(args)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        code = func(args)
        sys.stdout.flush()
        return code
    except AppError as err:
        logging.getLogger("juanzong").debug("error code=%s params=%s", err.code, err.params)
        return fail(err)
    except BrokenPipeError:  # the reader stopped reading (`| head -1`): not a failure of ours
        quiet_broken_pipe()
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        return fail(os_failure(exc))
    except sqlite3.Error as exc:
        return fail(db_failure(exc))
    except Exception:  # a bug: one Chinese line; the traceback only with -v
        ref = secrets.token_hex(4)
        logging.getLogger("juanzong").debug("internal error ref %s", ref, exc_info=True)
        return fail(AppError(ErrorCode.COMMAND_FAILED, ref=ref))


def _logging(args: argparse.Namespace) -> None:
    """Short commands log only warnings, so no log line comes before the Chinese error;
    long-running ones (`edge run`, `central serve`) log each file and request at INFO."""
    level = logging.DEBUG if args.verbose else (logging.INFO if getattr(args, "log_info", False) else logging.WARNING)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("pikepdf").setLevel(logging.WARNING)  # its import-time INFO line is noise on a screen
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
