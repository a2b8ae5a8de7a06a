"""`juanzong edge …`, `juanzong demo`, `juanzong bench`: the appliance's commands.

Every `edge` command takes `--home DIR` (or `JUANZONG_HOME`). Output meant for
programs is JSON on stdout; errors are `错误 CODE: message` on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from juanzong.shared import clock
from juanzong.edge.repo.batches import BatchState
from juanzong.shared.cli import print_json
from juanzong.shared.audit import Action

TZ = ZoneInfo("Asia/Shanghai")
OUTCOME_LINES = {"stored": "已存入 {name}：{pages} 页", "quarantined": "已隔离 {name}：{reason}",
                 "replayed": "已完成 {name}（重启前已存入）", "retry": "暂未存入 {name}：{reason}"}
BATCH_STATES = {BatchState.SEALED: "已封包，待同步", BatchState.ACKNOWLEDGED: "中心已确认",
                BatchState.REJECTED: "被中心拒收，需人工处理"}


def _settings(args: argparse.Namespace):
    from juanzong.edge.config import load_settings, resolve_home

    return load_settings(resolve_home(args.home))


def _db(settings):
    """The command's connection; a command is a process start-up, so it migrates first."""
    from juanzong.edge import repo

    repo.migrate(settings)
    return repo.connect(settings)


def cmd_init(args: argparse.Namespace) -> int:
    from juanzong.edge.config import resolve_home
    from juanzong.edge.home import init_home

    print_json(init_home(resolve_home(args.home), profile=args.profile, printer=args.printer,
                         central_identity=Path(args.central) if args.central else None,
                         central_url=args.central_url or "", court_networks=args.court_network or None, name=args.name))
    return 0


def cmd_pair(args: argparse.Namespace) -> int:
    from juanzong.edge.home import pair

    settings = _settings(args)
    pair(settings.keys_dir, Path(args.central) if args.central else None,
         Path(args.enrolment) if args.enrolment else None, settings.appliance_id)
    print_json({"paired": True, "keys_dir": str(settings.keys_dir)})
    return 0


def cmd_intake_add(args: argparse.Namespace) -> int:
    from juanzong.edge import intake, printing
    from juanzong.shared.workdays import parse_received

    settings = _settings(args)
    db = _db(settings)
    now = clock.now(TZ)
    received = parse_received(args.received) if args.received else now
    registered = intake.register(
        db, settings, case_text=args.case, submitter=args.submitter, items=[intake.parse_item(t) for t in args.item],
        received_at=received, urgent=args.urgent, classified=args.classified, clerk=args.clerk or "", now=now,
    )
    out = registered.to_dict()
    if not args.no_print:
        printing.queue_receipt(db, settings, registered.intake_id)
        out["receipt"] = printing.flush(db, settings)
    print_json(out)
    return 0


def cmd_cover_sheet(args: argparse.Namespace) -> int:
    from juanzong.edge import audit
    from juanzong.edge.coversheet import CoverSheetInfo, save_cover_sheet
    from juanzong.edge.intake import load_item
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    db = _db(settings)
    item = load_item(db, require_id(args.item_id, Kind.ITEM))
    info = CoverSheetInfo(item_id=item["id"], intake_id=item["intake_id"], case_number=item["case_number"],
                          item_name=item["name"], declared_pages=item["declared_pages"], volume=item["volume"],
                          catalog_dir=item["catalog_dir"], item_seq=item["seq"], item_count=item["item_count"])
    out = save_cover_sheet(info, Path(args.out))
    audit.record(db, place=settings.appliance_id, actor="clerk", action=Action.PRINT, target=item["id"], what="cover_sheet")
    print_json({"item_id": item["id"], "out": str(out)})
    return 0


def cmd_active(args: argparse.Namespace) -> int:
    from juanzong.edge import audit
    from juanzong.edge.intake import load_item
    from juanzong.edge.repo import state, write_tx
    from juanzong.edge.repo.state import StateKey
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    db = _db(settings)
    item_id = None if args.clear else load_item(db, require_id(args.item_id, Kind.ITEM))["id"]
    with write_tx(db):
        state.put(db, StateKey.ACTIVE_ITEM, item_id)
        audit.record(db, place=settings.appliance_id, actor="operator", action=Action.ACTIVE_ITEM, target=item_id or "-")
    print_json({"active_item": item_id})
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    from juanzong.edge.items import close_item
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    out = close_item(_db(settings), settings.appliance_id, require_id(args.item_id, Kind.ITEM))
    print_json(out)
    return 0


def cmd_replace(args: argparse.Namespace) -> int:
    from juanzong.edge.items import arm_replacement
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    print_json(arm_replacement(_db(settings), settings.appliance_id, require_id(args.page_id, Kind.PAGE)))
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from juanzong.edge import quarantine
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.keys import load_keys
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    db = _db(settings)
    if args.retry:
        qid = require_id(args.retry, Kind.QUARANTINE)
        path = quarantine.retry(db, BlobStore(settings.blob_dir), load_keys(settings.keys_dir), settings.appliance_id, settings.hot_folder, qid)
        print_json({"retry": qid, "written": str(path)})
        return 0
    print_json(quarantine.shelf(db))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from juanzong.edge.appliance import Appliance
    from juanzong.edge.runner import single_instance

    settings = _settings(args)
    lock = single_instance(settings)  # noqa: F841 - never beside a running `edge run`
    drained = Appliance(settings).ingest_once(settle=args.settle)
    if args.json:
        print_json({"files": [o.__dict__ for o in drained], "unfinished": list(drained.unfinished)})
    else:
        for o in drained:
            print(OUTCOME_LINES[o.status].format(name=o.source_name, pages=o.pages, reason=o.reason))
        stored = sum(o.status == "stored" for o in drained)
        print(f"共处理 {len(drained)} 个文件：存入 {stored} 个，隔离 {sum(o.status == 'quarantined' for o in drained)} 个")
        if drained.unfinished:
            print(f"未能处理完的文件 {len(drained.unfinished)} 个：{'、'.join(drained.unfinished)}")
    return 1 if drained.unfinished else 0


def cmd_run(args: argparse.Namespace) -> int:
    from juanzong.edge.runner import run

    return run(_settings(args))


def cmd_sync(args: argparse.Namespace) -> int:
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.keys import load_keys
    from juanzong.edge.runner import outbox_once
    from juanzong.edge.sync.transport import transport_for

    settings = _settings(args)
    transport = transport_for(settings)
    out = outbox_once(_db(settings), BlobStore(settings.blob_dir), transport, load_keys(settings.keys_dir), settings, force_seal=True)
    print_json(out)
    return 0


def cmd_operator(args: argparse.Namespace) -> int:
    import sys

    from juanzong.edge import operators

    settings = _settings(args)
    db = _db(settings)
    now = clock.now(TZ)
    if args.operator_command == "add":
        pin = args.pin if args.pin is not None else sys.stdin.readline().strip()
        op = operators.add(db, settings.appliance_id, operator_id=args.id, name=args.name, role=args.role, pin=pin, now=now)
        print_json(op.to_dict())
    elif args.operator_command == "disable":
        print_json(operators.disable(db, settings.appliance_id, args.id, now).to_dict())
    else:
        print_json([op.to_dict() for op in operators.list_all(db)])
def cmd_documents_worker(args: argparse.Namespace) -> int:
    from juanzong.edge.documents.worker import main

    return main(_settings(args))


def cmd_document(args: argparse.Namespace) -> int:
    from juanzong.edge.documents.builder import read_current
    from juanzong.edge.documents.worker import context_for
    from juanzong.shared.durable import write_durable
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    doc, pdf = read_current(context_for(settings), require_id(args.item_id, Kind.ITEM), actor="operator")
    write_durable(Path(args.out).resolve(), pdf, mode=0o600)  # plaintext: owner-only
    kind = "可检索（双层）" if doc.searchable else "图像版（文字识别排队中）"
    print_json({"item_id": doc.item_id, "document_id": doc.document_id, "version": doc.version, "searchable": doc.searchable,
                "file_name": doc.file_name, "pages": len(doc.page_ids), "out": args.out, "说明": kind})
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from juanzong.edge.status import status

    settings = _settings(args)
    st = status(_db(settings), settings)
    if args.json:
        print_json(st)
        return 0
    for warning in st["calendar"]["warnings"]:
        print(f"注意：{warning}")
    print(f"热文件夹 {st['hot_folder']['path']}：待处理 {st['hot_folder']['waiting']} 个文件")
    for it in st["items"]:
        flagged = f"，{it['flagged']} 页有质检提示" if it["flagged"] else ""
        due = f"，办理时限 {it['deadline'][:16].replace('T', ' ')}" + ("（暂定）" if it["deadline_provisional"] else "")
        print(f"  {it['case_number']} 第{it['seq']}件 {it['name']}：申报 {it['declared_pages']} 页，已扫 {it['pages']} 页{due}{flagged}")
    print(f"未归属页面 {st['unassigned']} 页，隔离文件 {st['quarantine']['count']} 个")
    for q in st["quarantine"]["files"]:
        print(f"  隔离 {q['id']}：{q['reason']}")
    docs = st["documents"]
    oldest = ""
    if docs["ocr_queue"]["length"]:
        due = dt.datetime.fromisoformat(docs["ocr_queue"]["oldest_deadline"]).astimezone(TZ)
        oldest = f"，最早时限 {due:%Y-%m-%d %H:%M}"
    print(f"PDF 文档 {docs['current']} 份（可检索 {docs['searchable']} 份），文字识别队列 {docs['ocr_queue']['length']} 份{oldest}，"
          f"入卷提醒 {docs['notices']} 条")
    for b in st["batches"]:
        error = f"（{b['last_error']}）" if b["last_error"] and b["state"] != BatchState.ACKNOWLEDGED else ""
        print(f"  批次 {b['seq']} {b['id']}：{b['pages']} 页，{BATCH_STATES.get(b['state'], b['state'])}{error}")
    carry = st["carry"]
    if carry["registered_media"] or carry["last_export"]:
        last = carry["last_export"]
        when = f"，最近一次写入介质 {last['at']}（{last['label']}）" if last else ""
        print(f"待送交介质的批次 {carry['waiting_batches']} 个{when}")
    return 0


def cmd_calendar_import(args: argparse.Namespace) -> int:
    from juanzong.edge import holidays, intake

    settings = _settings(args)
    result = holidays.import_arrangement(_db(settings), settings, Path(args.file), intake.deadline_rules(settings))
    if args.json:
        print_json(result.to_dict())
        return 0
    for t in result.years:
        print(f"已导入 {t.year} 年放假安排（{t.source}）：放假的工作日 {len(t.holidays)} 天，调休上班 {len(t.workdays)} 天")
    print(f"重新计算办理时限 {len(result.changes)} 件：")
    for c in result.changes:
        note = "（仍为暂定）" if c.provisional else ("（时间不变，改为正式）" if c.old_due == c.new_due else "")
        print(f"  {c.intake_id} {c.case_number}：{c.old_due} → {c.new_due}{note}")
    return 0


def cmd_calendar_status(args: argparse.Namespace) -> int:
    from juanzong.edge.holidays import calendar_status

    settings = _settings(args)
    st = calendar_status(_db(settings), settings, clock.now(TZ).date())
    if args.json:
        print_json(st)
        return 0
    for warning in st["warnings"]:
        print(f"注意：{warning}")
    for y in st["years"]:
        print(f"{y['year']} 年  {'暂定' if y['provisional'] else '正式'}  {y['source']}")
    print(f"暂定的办理时限 {st['provisional_deadlines']} 件")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.purge import Retention, purge_due
    from juanzong.edge.runner import single_instance
    from juanzong.shared.workdays import parse_received

    settings = _settings(args)
    lock = single_instance(settings)  # noqa: F841 - `edge run` purges on its own schedule
    now = parse_received(args.now) if args.now else clock.now(TZ)
    report = purge_due(_db(settings), BlobStore(settings.blob_dir), settings.appliance_id,
                       Retention.from_settings(settings), now, actor=args.actor)
    print_json(report.to_dict())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.rotate import rotate_kek
    from juanzong.edge.runner import single_instance

    settings = _settings(args)
    lock = single_instance(settings)  # noqa: F841 - never while `edge run` holds the old key
    rotation = rotate_kek(_db(settings), BlobStore(settings.blob_dir), settings.keys_dir, settings.appliance_id, args.actor)
    print_json(rotation.to_dict())
    return 0


def cmd_keys_renew(args: argparse.Namespace) -> int:
    from juanzong.edge.home import IDENTITY_FILE
    from juanzong.edge.renew import request_renewal

    settings = _settings(args)
    doc = request_renewal(_db(settings), settings.keys_dir, settings.home / IDENTITY_FILE, Path(args.out), args.actor)
    print_json({"appliance_id": doc["appliance_id"], "signing_public": doc["signing_public"], "out": args.out,
                "next": "在中心执行 central enroll --renew <此文件> --out enrolment.json，再执行 edge pair --enrolment enrolment.json"})
    return 0


def cmd_lockdown(args: argparse.Namespace) -> int:
    from juanzong.edge import audit
    from juanzong.edge.lockdown.command import lockdown

    settings = _settings(args)
    _db(settings).close()  # the database key exists (keys/ is read-only to the locked-down service)
    out = lockdown(settings, Path(args.out).resolve(), apply=args.apply, root=Path(args.root),
                   executable=Path(args.executable) if args.executable else None)
    if args.apply:
        audit.record(_db(settings), place=settings.appliance_id, actor="admin", action=Action.LOCKDOWN_APPLY,
                     target=str(args.root), files=len(out["files"]),
                     exposure={unit: str(score) for unit, score in out["exposure"].items()})
    print_json(out)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.keys import load_keys
    from juanzong.edge.verify import render_text, verify_appliance

    settings = _settings(args)
    result = verify_appliance(_db(settings), BlobStore(settings.blob_dir), load_keys(settings.keys_dir), settings.appliance_id)
    if args.json:
        print_json(result.to_dict())
    else:
        print(render_text(result))
    return 0 if result.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    edge = sub.add_parser("edge", help="the scanning-point appliance").add_subparsers(dest="edge_command", required=True)

    def cmd(name: str, func, help: str) -> argparse.ArgumentParser:
        p = edge.add_parser(name, help=help)
        p.add_argument("--home", help="appliance home (default: $JUANZONG_HOME)")
        p.set_defaults(func=func)
        return p

    p = cmd("init", cmd_init, "create the appliance home: config, keys, database, hot folder")
    p.add_argument("--profile", required=True, help="scanner profile name (juanzong profiles)")
    p.add_argument("--printer", default="file-printer", help="printer profile name")
    p.add_argument("--central", help="central-identity.json written by `central init`")
    p.add_argument("--central-url", help="central base URL")
    p.add_argument("--court-network", action="append", help="allowed CIDR for sync (repeatable)")
    p.add_argument("--name", default="扫描点")

    p = cmd("pair", cmd_pair, "install central's identity and/or the enrolment's TLS client certificate")
    p.add_argument("--central", help="central-identity.json")
    p.add_argument("--enrolment", help="the file `central enroll --out` wrote")

    intake = edge.add_parser("intake", help="counter intake (收取)").add_subparsers(dest="intake_command", required=True)
    p = intake.add_parser("add", help="register a handover and print its receipt")
    p.add_argument("--home")
    p.add_argument("--case", required=True, help="案号")
    p.add_argument("--submitter", required=True, help="提交人")
    p.add_argument("--item", action="append", required=True, help="名称:页数[:正卷|副卷][:复印件][:黑白]")
    p.add_argument("--received", help="ISO date-time received (default: now)")
    p.add_argument("--urgent", action="store_true", help="加急")
    p.add_argument("--classified", action="store_true", help="涉密: refused")
    p.add_argument("--clerk", help="经办人")
    p.add_argument("--no-print", action="store_true", help="do not print the receipt")
    p.set_defaults(func=cmd_intake_add)

    p = cmd("cover-sheet", cmd_cover_sheet, "render an item's cover sheet (300 dpi)")
    p.add_argument("item_id")
    p.add_argument("--out", required=True)

    p = cmd("active", cmd_active, "route pages without a cover sheet to this item")
    p.add_argument("item_id", nargs="?")
    p.add_argument("--clear", action="store_true")

    p = cmd("close", cmd_close, "close an item: declared pages against scanned pages (多扫/漏扫)")
    p.add_argument("item_id")

    p = cmd("replace", cmd_replace, "the next page scanned replaces this page, keeping its number")
    p.add_argument("page_id")

    p = cmd("quarantine", cmd_quarantine, "list quarantined files, or put one back through ingest")
    p.add_argument("--retry", metavar="QUARANTINE_ID", help="decrypt it back into the hot folder")

    p = cmd("ingest", cmd_ingest, "process what is in the hot folder")
    p.add_argument("--once", action="store_true", required=True)
    p.add_argument("--settle", type=float, help="override the profile's settle delay (seconds)")
    p.add_argument("--json", action="store_true")

    calendar = edge.add_parser("calendar", help="holiday arrangements on this appliance").add_subparsers(
        dest="calendar_command", required=True)
    p = calendar.add_parser("import", help="install a State Council arrangement file and recompute provisional deadlines")
    p.add_argument("--home")
    p.add_argument("file", help="TOML with [years.YYYY] source / holidays / workdays")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_calendar_import)
    p = calendar.add_parser("status", help="each year's basis (official / provisional) and source on this appliance")
    p.add_argument("--home")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_calendar_status)

    op = edge.add_parser("operator", help="kiosk operators (clerk, operator, supervisor)").add_subparsers(
        dest="operator_command", required=True)
    p = op.add_parser("add", help="add an operator; the PIN comes from --pin or standard input")
    p.add_argument("--home")
    p.add_argument("--id", required=True, help="工号 (2-16 letters or digits)")
    p.add_argument("--name", required=True, help="姓名")
    p.add_argument("--role", required=True, choices=["clerk", "operator", "supervisor"], help="角色")
    p.add_argument("--pin", help="6-12 digits (default: read one line from standard input)")
    p.set_defaults(func=cmd_operator)
    p = op.add_parser("disable", help="disable an operator and end their sessions")
    p.add_argument("--home")
    p.add_argument("--id", required=True, help="工号")
    p.set_defaults(func=cmd_operator)
    p = op.add_parser("list", help="list operators")
    p.add_argument("--home")
    p.set_defaults(func=cmd_operator)

    cmd("run", cmd_run, "run the appliance: watch, ingest, seal, sync, print, and serve the counter kiosk")
    cmd("documents-worker", cmd_documents_worker,
        "the background PDF/OCR process `edge run` supervises (nice 10, earliest deadline first)")
    p = cmd("document", cmd_document, "write an item's current PDF (decrypted, audited) for inspection")
    p.add_argument("item_id")
    p.add_argument("--out", required=True)
    cmd("sync", cmd_sync, "seal what is pending and sync now")
    p = cmd("status", cmd_status, "what is waiting, stored, quarantined and synced")
    p.add_argument("--json", action="store_true")
    p = cmd("verify", cmd_verify, "integrity check: audit chain, heads central witnessed, every blob")
    p.add_argument("--json", action="store_true")

    p = cmd("purge", cmd_purge, "crypto-shred what central acknowledged and retention no longer keeps (audited)")
    p.add_argument("--now", help="ISO date-time to judge retention at (default: now)")
    p.add_argument("--actor", default="admin", help="who runs it (audit)")

    keys = edge.add_parser("keys", help="the appliance's keys").add_subparsers(dest="keys_command", required=True)
    p = keys.add_parser("rotate", help="new key-encryption key: every wrap and vault value rewritten, old key destroyed (audited)")
    p.add_argument("--home")
    p.add_argument("--actor", default="admin", help="who runs it (audit)")
    p.set_defaults(func=cmd_keys_rotate)
    p = keys.add_parser("renew", help="new signing and TLS keys, vouched for by the old key: central enroll --renew takes them")
    p.add_argument("--home")
    p.add_argument("--out", required=True, help="the renewal request for central")
    p.add_argument("--actor", default="admin", help="who runs it (audit)")
    p.set_defaults(func=cmd_keys_renew)

    p = cmd("lockdown", cmd_lockdown, "render (and --apply) the locked-down OS profile: units, tmpfs, firewall, udev, swap off")
    p.add_argument("--out", required=True, help="directory for the rendered files (a tree mirroring /) and plan.json")
    p.add_argument("--apply", action="store_true", help="install them and run the plan's commands (root)")
    p.add_argument("--root", default="/", help="install under this root instead of / (staging; no commands run)")
    p.add_argument("--executable", help="path of the juanzong program in the units (default: this one)")
    register_media(edge)

    p = sub.add_parser("demo", help="the whole journey on this machine: central + appliance + simulated scanner")
    p.add_argument("--keep", help="leave both homes in this directory")
    p.add_argument("--pages", type=int, default=0, help="extra text pages per item")
    p.add_argument("--kiosk", action="store_true", help="afterwards keep the counter kiosk open in a browser until Ctrl-C")
    p.add_argument("--serve", action="store_true",
                   help="afterwards keep central (archive office pages) and the appliance (kiosk, QC station) running, "
                        "with demo logins printed, until Ctrl-C")
    p.add_argument("--stack", choices=["sqlite-local", "postgres-s3"], default="sqlite-local",
                   help="central on SQLite + local disk, or on a PostgreSQL cluster + S3 store the demo starts itself")
    p.set_defaults(func=lambda a: __import__("juanzong.edge.demo", fromlist=["main"]).main(a))

    p = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench_command", required=True)
    c = p.add_parser("central", help="central on SQLite + disk and on PostgreSQL + S3: receive, verify, report, memory")
    c.add_argument("--appliances", type=int, default=8, help="simulated appliances sending at once")
    c.add_argument("--batches", type=int, default=4, help="batches per appliance")
    c.add_argument("--pages-per-batch", type=int, default=10)
    c.add_argument("--page-kb", type=int, default=1500, help="plaintext size of a page (a 300 dpi colour A4 JPEG is ~1500 KB)")
    c.add_argument("--workers", type=int, default=2, help="central serve --workers")
    c.add_argument("--report-pages", type=int, default=1_000_000, help="page rows loaded for the report")
    c.add_argument("--stacks", default="sqlite-local,postgres-s3", help="comma-separated: sqlite-local, postgres-s3")
    c.add_argument("--keep", action="store_true", help="keep the working directory (logs, homes) for inspection")
    c.set_defaults(func=lambda a: __import__("juanzong.central.bench", fromlist=["main"]).main(a))
    b = p.add_parser("ingest", help="pages per second from hot folder to durable encrypted page")
    b.add_argument("--pages", type=int, default=200)
    b.add_argument("--no-baseline", action="store_true", help="skip the pyzbar comparison run")
    b.add_argument("--profile", action="store_true", help="also profile the default backend (cProfile)")
    b.add_argument("--hot-disk", action="store_true", help="hot folder on the data disk instead of tmpfs")
    b.add_argument("--ocr-beside", action="store_true", help="run the default backend again while the OCR worker's load runs (nice 10)")
    b.set_defaults(func=lambda a: __import__("juanzong.edge.bench", fromlist=["main"]).main(a))
    b = p.add_parser("memory", help="peak memory (RSS) of ingesting one file, for every file class")
    b.add_argument("--quick", action="store_true", help="A4 pages only (skip A3 at 600 dpi)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=lambda a: __import__("juanzong.edge.memprobe", fromlist=["main"]).main(a))
    b = p.add_parser("ocr", help="OCR worker vs rapidocr defaults on generated court pages: s/page, accuracy, extraction, RSS")
    b.add_argument("--pages", type=int, default=20)
    b.add_argument("--no-baseline", action="store_true", help="skip the rapidocr-defaults comparison run")
    b.set_defaults(func=lambda a: __import__("juanzong.edge.documents.bench", fromlist=["main"]).main(a))


# --- removable media (air-gapped carry) ---------------------------------------------------


def _operator(args: argparse.Namespace) -> str:
    import getpass
    import os

    return args.operator or os.environ.get("SUDO_USER") or getpass.getuser()


def cmd_media_init(args: argparse.Namespace) -> int:
    from juanzong.edge.keys import load_keys
    from juanzong.edge.media import init_medium

    settings = _settings(args)
    medium = init_medium(_db(settings), settings.appliance_id, load_keys(settings.keys_dir), Path(args.registration),
                         Path(args.device), actor=_operator(args), now=clock.now(TZ))
    reg = medium.registration
    out = {"medium_id": reg.medium_id, "label": reg.label, "valid_until": reg.valid_until, "fs_uuid": medium.fs_uuid,
           "device": str(args.device)}
    if args.json:
        print_json(out)
    else:
        uuid = f"，文件系统标识 {medium.fs_uuid}" if medium.fs_uuid else "（普通目录，未记录文件系统标识）"
        print(f"介质 {reg.medium_id}（{reg.label}）已准备好{uuid}，登记有效期至 {reg.valid_until}")
    return 0


def cmd_media_export(args: argparse.Namespace) -> int:
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.keys import load_keys
    from juanzong.edge.media import export

    settings = _settings(args)
    report = export(_db(settings), settings.appliance_id, load_keys(settings.keys_dir), BlobStore(settings.blob_dir),
                    Path(args.to), actor=_operator(args), now=clock.now(TZ))
    if args.json:
        print_json(report.to_dict())
    elif not report.batches:
        print(f"没有待送交的批次；介质 {report.medium_id} 的目录已更新")
    else:
        mb = report.bytes_written / 1e6
        print(f"已写入介质 {report.medium_id} 并回读校验：{len(report.batches)} 个批次，"
              f"新写 {report.blobs_written} 个数据块（{mb:.1f} MB），沿用 {report.blobs_reused} 个。请将介质送交档案室导入。")
    return 0


def cmd_media_receipts(args: argparse.Namespace) -> int:
    from juanzong.edge.keys import load_keys
    from juanzong.edge.media import take_receipts

    settings = _settings(args)
    report = take_receipts(_db(settings), settings.appliance_id, load_keys(settings.keys_dir), Path(args.source),
                           actor=_operator(args), now=clock.now(TZ))
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"中心回执：{len(report.acknowledged)} 个批次已确认，{len(report.already)} 个此前已确认，{len(report.ignored)} 个回执被忽略")
        for item in report.ignored:
            print(f"  忽略 {item['file']}：{item['reason']}")
    return 0 if not report.ignored else 1


def register_media(edge: argparse._SubParsersAction) -> None:
    media = edge.add_parser("media", help="登记介质送交批次（无网络的扫描点）").add_subparsers(dest="media_command", required=True)

    def cmd(name: str, func, help: str) -> argparse.ArgumentParser:
        p = media.add_parser(name, help=help, description=help)
        p.add_argument("--home", help="扫描设备目录（默认取 $JUANZONG_HOME）")
        p.add_argument("--operator", help="经办人（默认取系统登录名）")
        p.add_argument("--json", action="store_true", help="以 JSON 输出")
        p.set_defaults(func=func)
        return p

    p = cmd("init", cmd_media_init, "准备一个中心已登记给本设备的移动介质")
    p.add_argument("--registration", required=True, help="central media register 生成的登记文件")
    p.add_argument("--device", required=True, help="介质的挂载目录")
    p = cmd("export", cmd_media_export, "把所有待确认的批次加密写入介质并回读校验")
    p.add_argument("--to", required=True, help="介质的挂载目录")
    p = cmd("receipts", cmd_media_receipts, "读取介质上的中心回执，确认批次")
    p.add_argument("--from", dest="source", required=True, help="介质的挂载目录")
