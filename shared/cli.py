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
import sys
from typing import Any, Callable

from zoneinfo import ZoneInfo

from juanzong.shared import clock
from juanzong.shared.errors import AppError

COURT_TZ = ZoneInfo("Asia/Shanghai")


def print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False))


def fail(err: AppError) -> int:
    print(f"错误 {err.code}: {err.message}", file=sys.stderr)
    return 1


def cmd_case_number(args: argparse.Namespace) -> int:
    from juanzong.shared.caseno import parse_case_number

    case = parse_case_number(args.text)
    print_json(case.to_dict())
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
    from juanzong.shared.profiles import load_profiles

    profiles = load_profiles()
    if args.json:
        print_json([p.summary() for p in profiles])
        return 0
    for p in profiles:
        s = p.summary()
        print(f"{s['kind']:<8} {s['name']:<24} {s['title']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="juanzong", description="卷宗：扫描点设备与中心档案服务器")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("case-number", help="parse and normalise a case number (案号)")
    p.add_argument("text")
    p.set_defaults(func=cmd_case_number)

    p = sub.add_parser("deadline", help="due time for material received at an ISO date-time")
    p.add_argument("received")
    p.add_argument("--urgent", action="store_true", help="加急")
    p.add_argument("--json", action="store_true", help="print due, provisional, basis and source as JSON")
    p.set_defaults(func=cmd_deadline)

    cal = sub.add_parser("calendar", help="holiday calendar data (packaged)").add_subparsers(dest="calendar_command", required=True)
    p = cal.add_parser("status", help="each year's basis (official / provisional) and source, packaged data only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_calendar_status)

    p = sub.add_parser("profiles", help="list the device profiles in firmware_profiles/")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_profiles)

    from juanzong.edge import cli as edge_cli
    from juanzong.central import cli as central_cli

    edge_cli.register(sub)
    central_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("pikepdf").setLevel(logging.WARNING)  # its import-time INFO line is noise on a screen
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except AppError as err:
        logging.getLogger("juanzong").info("error code=%s params=%s", err.code, err.params)
        return fail(err)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
