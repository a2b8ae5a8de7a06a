"""`juanzong edge …`, `juanzong demo`, `juanzong bench`: the appliance's commands.

Every `edge` command takes `--home DIR` (or `JUANZONG_HOME`). Output is a short
Chinese summary for the person at the screen, or with `--json` the JSON a
program reads; errors are `错误 CODE: message` on stderr. Exit codes: 0 done,
1 refused or failed, 2 usage (shared.cli).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from juanzong.edge.repo.batches import BatchState
from juanzong.shared import clock
from juanzong.shared.audit import Action
from juanzong.shared.cli import JSON_HELP, print_json

TZ = ZoneInfo("Asia/Shanghai")
OUTCOME_LINES = {
    "stored": "已存入 {name}：{pages} 页",
    "quarantined": "已隔离 {name}：{reason}",
    "replayed": "已完成 {name}（重启前已存入）",
    "retry": "暂未存入 {name}：{reason}",
}
BATCH_STATES = {BatchState.SEALED: "已封包，待同步", BatchState.ACKNOWLEDGED: "中心已确认", BatchState.REJECTED: "被中心拒收，需人工处理"}


VOLUME_NAMES = {"main": "正卷", "internal": "副卷"}
SIDE_NAMES = {"recto": "正面", "verso": "背面"}


def shown(ident: str | None) -> str:
    """An id the one way people see it printed everywhere (M-4K7Q-9X2M-T); other text as it is."""
    from juanzong.shared.ids import format_id, is_valid_id

    return format_id(ident) if ident and is_valid_id(ident) else (ident or "")


def _emit(args: argparse.Namespace, data, *lines: str) -> None:
    """The JSON with --json, else the Chinese lines."""
    if getattr(args, "json", False):
        print_json(data)
        return
    for line in lines:
        print(line)


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

    out = init_home(
        resolve_home(args.home),
        profile=args.profile,
        printer=args.printer,
        central_identity=Path(args.central) if args.central else None,
        central_url=args.central_url or "",
        court_networks=args.court_network or None,
        name=args.name,
        court=args.court or "",
        hot_folder=args.hot_folder or "",
    )
    _emit(
        args,
        out,
        f"设备目录已建立：{out['home']}",
        f"设备编号：{shown(out['appliance_id'])}",
        f"热文件夹：{out['hot_folder']}",
        f"下一步：把 {out['home']}/appliance-identity.json 交给档案室登记（central enroll），再用 edge pair 安装回执",
    )
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    from juanzong.edge.config import resolve_home
    from juanzong.edge.configure import SITE_SETTINGS, show

    rows = show(resolve_home(args.home))
    order = {name: i for i, name in enumerate(SITE_SETTINGS)}
    rows.sort(key=lambda r: order.get(r.name, len(order)))
    _emit(
        args,
        [r.__dict__ for r in rows],
        *(f"{r.name} = {_shown_value(r.value)}{'（默认）' if r.default else ''}    # {r.help}" for r in rows),
    )
    return 0


def _shown_value(value) -> str:
    return "、".join(map(str, value)) if isinstance(value, (list, tuple)) else (str(value) if value != "" else "（空）")


def cmd_config_set(args: argparse.Namespace) -> int:
    from juanzong.edge.config import resolve_home
    from juanzong.edge.configure import set_value

    value = set_value(resolve_home(args.home), args.name, args.value)
    _emit(
        args,
        {"name": args.name, "value": value},
        f"已修改 {args.name} = {_shown_value(value)}（已记入审计）；正在运行的 edge run 需重启后生效",
    )
    return 0


def cmd_pair(args: argparse.Namespace) -> int:
    from juanzong.edge.home import pair

    settings = _settings(args)
    pair(
        settings.keys_dir,
        Path(args.central) if args.central else None,
        Path(args.enrolment) if args.enrolment else None,
        settings.appliance_id,
    )
    _emit(args, {"paired": True, "keys_dir": str(settings.keys_dir)}, f"已安装中心的身份与证书（{settings.keys_dir}）")
    return 0


def cmd_intake_add(args: argparse.Namespace) -> int:
    from juanzong.edge import intake, printing
    from juanzong.shared.workdays import parse_received

    settings = _settings(args)
    db = _db(settings)
    now = clock.now(TZ)
    received = parse_received(args.received) if args.received else now
    registered = intake.register(
        db,
        settings,
        case_text=args.case,
        submitter=args.submitter,
        items=[intake.parse_item(t) for t in args.item],
        received_at=received,
        urgent=args.urgent,
        classified=args.classified,
        clerk=args.clerk or "",
        now=now,
        confirmed_not_classified=args.not_classified,
    )
    out = registered.to_dict()
    if not args.no_print:
        printing.queue_receipt(db, settings, registered.intake_id)
        out["receipt"] = printing.flush(db, settings)
    _emit(args, out, *_intake_lines(out))
    return 0


def _intake_lines(out: dict) -> list[str]:
    lines = [
        f"已登记收取 {shown(out['intake_id'])}：{out['case_number']}，提交人 {out['submitter']}",
        f"办理时限：{out['deadline']}{'（加急）' if out.get('urgent') else ''}",
    ]
    for item in out["items"]:
        lines.append(
            f"  第{item['seq']}件 {item['name']}：{item['declared_pages']} 页，"
            f"{VOLUME_NAMES.get(item['volume'], item['volume'])} {item['catalog_dir']}，材料编号 {shown(item['item_id'])}"
        )
    lines += [f"提示：{w}" for w in out.get("warnings", [])]
    return lines


def cmd_cover_sheet(args: argparse.Namespace) -> int:
    from juanzong.edge import audit
    from juanzong.edge.coversheet import CoverSheetInfo, save_cover_sheet
    from juanzong.edge.intake import load_item
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    db = _db(settings)
    item = load_item(db, require_id(args.item_id, Kind.ITEM))
    info = CoverSheetInfo(
        item_id=item["id"],
        intake_id=item["intake_id"],
        case_number=item["case_number"],
        item_name=item["name"],
        declared_pages=item["declared_pages"],
        volume=item["volume"],
        catalog_dir=item["catalog_dir"],
        item_seq=item["seq"],
        item_count=item["item_count"],
        court=settings.court,
    )
    out = save_cover_sheet(info, Path(args.out))
    audit.record(db, place=settings.appliance_id, actor="clerk", action=Action.PRINT, target=item["id"], what="cover_sheet")
    _emit(args, {"item_id": item["id"], "out": str(out)}, f"封面页已生成：{out}（{item['name']}，材料编号 {shown(item['id'])}）")
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
    _emit(
        args,
        {"active_item": item_id},
        f"之后没有封面页的扫描页归入材料 {shown(item_id)}" if item_id else "已取消当前材料：没有封面页的扫描页进入未归属队列",
    )
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    from juanzong.edge.items import close_item
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    out = close_item(_db(settings), settings.appliance_id, require_id(args.item_id, Kind.ITEM))
    blank = f"（另有空白背面 {out['blank_backs']} 页，已记录，不计入页数）" if out["blank_backs"] else ""
    lines = [f"  {f['message']}" for f in out["findings"]]
    lines += [f"  第 {f['page_no'] or '-'} 页（{shown(f['page_id'])}）：{f['message']}" for f in out["page_findings"]]
    _emit(
        args,
        out,
        f"材料 {shown(out['item_id'])}（{out['name']}）已结束扫描并锁定：申报 {out['declared_pages']} 页，"
        f"实际 {out['scanned_pages']} 页{blank}",
        *(lines or ["  页数相符，没有质检提示"]),
    )
    return 0


def cmd_reopen(args: argparse.Namespace) -> int:
    from juanzong.edge.items import reopen_item
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    out = reopen_item(_db(settings), settings.appliance_id, require_id(args.item_id, Kind.ITEM), args.reason)
    _emit(args, out, f"材料 {shown(out['item_id'])} 已重新打开（原因：{out['reason']}），可以补扫或归入页面")
    return 0


def cmd_pages(args: argparse.Namespace) -> int:
    from juanzong.edge.items import page_listing
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    if not args.unassigned and not args.item_id:
        raise _usage("请给出材料编号，或用 --unassigned 列出未归属页面")
    item_id = None if args.unassigned else require_id(args.item_id, Kind.ITEM)
    rows = page_listing(_db(settings), item_id)
    lines = [_page_line(r) for r in rows]
    _emit(args, rows, *(lines or ["没有页面"]))
    return 0


ROLE_NAMES = {
    "page": "",
    "cover": "封面页",
    "cover_unknown": "外来封面页",
    "cover_back": "封面背面",
    "blank_dropped": "空白背面（不计页）",
    "replaced": "已被重扫替换",
    "discarded": "已作废",
}


def _page_line(r: dict) -> str:
    number = f"第 {r['page_no']} 页" if r["page_no"] else "未编号"
    role = ROLE_NAMES.get(r["role"], r["role"])
    extra = "；".join(filter(None, [role, r.get("discard_reason") and f"作废原因：{r['discard_reason']}"]))
    found = "；".join(f["message"] for f in r["findings"])
    return (
        f"{number:<8} {shown(r['page_id'])}  {SIDE_NAMES.get(r['side'], r['side'])}  {r['source_name']}"
        f"{'  ' + extra if extra else ''}{'  质检：' + found if found else ''}"
    )


def cmd_assign(args: argparse.Namespace) -> int:
    from juanzong.edge.items import assign_pages
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    page_ids = [require_id(p, Kind.PAGE) for p in args.page_ids]
    out = assign_pages(_db(settings), settings.appliance_id, page_ids, require_id(args.item, Kind.ITEM), args.at)
    _emit(args, out, *(f"页面 {shown(o['page_id'])} 已归入材料 {shown(o['item_id'])}，为第 {o['position']} 页" for o in out))
    return 0


def cmd_discard(args: argparse.Namespace) -> int:
    from juanzong.edge.items import discard_page
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    out = discard_page(_db(settings), settings.appliance_id, require_id(args.page_id, Kind.PAGE), args.reason)
    _emit(args, out, f"页面 {shown(out['page_id'])} 已作废（原因：{out['reason']}），记录保留并随下一批次送中心")
    return 0


def _usage(detail: str):
    from juanzong.shared.errors import AppError, ErrorCode

    return AppError(ErrorCode.USAGE_INVALID, detail=detail)


def cmd_replace(args: argparse.Namespace) -> int:
    from juanzong.edge.devices.profiles import get_scanner
    from juanzong.edge.items import arm_replacement, cancel_replacement
    from juanzong.shared.ids import Kind, require_id

    settings = _settings(args)
    db = _db(settings)
    if args.page_id is None:
        if not args.cancel:
            raise _usage("请给出要重扫的页面编号，或用 --cancel 取消待替换的页面")
        out = cancel_replacement(db, settings.appliance_id)
        _emit(args, out, "已取消待替换的页面" if out["cancelled"] else "没有待替换的页面")
        return 0
    duplex = get_scanner(settings.scanner_profile).duplex_order == "alternating"
    out = arm_replacement(db, settings.appliance_id, require_id(args.page_id, Kind.PAGE), duplex=duplex, cancel=args.cancel)
    sheet = "（双面扫描：重扫这一张纸的正反两面）" if len(out["images"]) > 1 else ""
    _emit(args, out, f"下一张扫描页将替换材料 {shown(out['item_id'])} 第 {out['page_no']} 页（{shown(out['replace'])}），页码不变{sheet}")
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
        path = quarantine.retry(
            db, BlobStore(settings.blob_dir), load_keys(settings.keys_dir), settings.appliance_id, settings.hot_folder, qid
        )
        _emit(args, {"retry": qid, "written": str(path)}, f"已放回热文件夹重新导入：{path.name}")
        return 0
    shelf = quarantine.shelf(db)
    lines = [f"隔离 {shown(q['id'])}  {q['source_name']}：{q['reason']}{_shelf_state(q)}" for q in shelf]
    _emit(args, shelf, *(lines or ["隔离区为空"]))
    return 0


def _shelf_state(q: dict) -> str:
    if q.get("discarded_at"):
        return f"（已丢弃：{q.get('discard_reason') or ''}）"
    if q.get("retried_at"):
        return f"（已放回重新导入：{q.get('retried_to')}）"
    return ""


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
    synced = out.get("synced", [])
    lines = [f"已封包批次 {shown(out['sealed'])}" if out.get("sealed") else "没有新的页面需要封包"]
    lines += [
        f"批次 {shown(r.get('batch_id', ''))}：{BATCH_STATES.get(r.get('state', ''), r.get('state', ''))}"
        f"{'（' + r['error'] + '）' if r.get('error') else ''}"
        for r in synced
    ]
    _emit(args, out, *lines)
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
        _emit(args, op.to_dict(), f"已添加操作员 {op.to_dict()['id']}（{op.to_dict().get('role_name', args.role)}）")
    elif args.operator_command == "disable":
        disabled = operators.disable(db, settings.appliance_id, args.id, now).to_dict()
        _emit(args, disabled, f"已停用操作员 {disabled['id']}")
    else:
        ops = [op.to_dict() for op in operators.list_all(db)]
        _emit(
            args,
            ops,
            *(
                [
                    f"{o['id']}  {o.get('name', '')}  {o.get('role_name', o.get('role', ''))}{'（已停用）' if o.get('disabled') else ''}"
                    for o in ops
                ]
                or ["还没有操作员"]
            ),
        )
    return 0


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
    out = {
        "item_id": doc.item_id,
        "document_id": doc.document_id,
        "version": doc.version,
        "searchable": doc.searchable,
        "file_name": doc.file_name,
        "pages": len(doc.page_ids),
        "out": args.out,
        "说明": kind,
    }
    _emit(
        args,
        out,
        f"已导出材料 {shown(doc.item_id)} 的 PDF 文档 {doc.file_name}（第 {doc.version} 版，{kind}，{len(doc.page_ids)} 页）到 {args.out}",
    )
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
        print(f"  隔离 {shown(q['id'])}：{q['reason']}")
    docs = st["documents"]
    oldest = ""
    if docs["ocr_queue"]["length"]:
        earliest = dt.datetime.fromisoformat(docs["ocr_queue"]["oldest_deadline"]).astimezone(TZ)
        oldest = f"，最早时限 {earliest:%Y-%m-%d %H:%M}"
    print(
        f"PDF 文档 {docs['current']} 份（可检索 {docs['searchable']} 份），文字识别队列 {docs['ocr_queue']['length']} 份{oldest}，"
        f"入卷提醒 {docs['notices']} 条"
    )
    for b in st["batches"]:
        error = f"（{b['last_error']}）" if b["last_error"] and b["state"] != BatchState.ACKNOWLEDGED else ""
        print(f"  批次 {b['seq']} {shown(b['id'])}：{b['pages']} 页，{BATCH_STATES.get(b['state'], b['state'])}{error}")
    carry = st["carry"]
    if carry["registered_media"] or carry["last_export"]:
        last = carry["last_export"]
        when = f"，最近一次写入介质 {last['at']}（{last['label']}）" if last else ""
        on_medium = f"（{carry['on_medium_batches']} 个已写入介质，待中心回执）" if carry["on_medium_batches"] else ""
        print(f"待送交介质的批次 {carry['waiting_batches']} 个{on_medium}{when}")
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
        print(f"  {shown(c.intake_id)} {c.case_number}：{c.old_due} → {c.new_due}{note}")
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
    report = purge_due(
        _db(settings), BlobStore(settings.blob_dir), settings.appliance_id, Retention.from_settings(settings), now, actor=args.actor
    )
    out = report.to_dict()
    _emit(
        args,
        out,
        f"已加密擦除：{out['purged_blobs']} 个数据块，{out['purged_quarantine']} 个隔离文件，{out['receipt_copies_destroyed']} 份回执副本",
    )
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.rotate import rotate_kek
    from juanzong.edge.runner import single_instance

    settings = _settings(args)
    lock = single_instance(settings)  # noqa: F841 - never while `edge run` holds the old key
    rotation = rotate_kek(_db(settings), BlobStore(settings.blob_dir), settings.keys_dir, settings.appliance_id, args.actor)
    _emit(
        args,
        rotation.to_dict(),
        f"密钥已更换：{rotation.old_key_id} → {rotation.new_key_id}，"
        f"重写 {rotation.wraps} 个包装密钥、{rotation.vault_values} 个保险库数据，旧密钥已销毁",
    )
    return 0


def cmd_keys_renew(args: argparse.Namespace) -> int:
    from juanzong.edge.home import IDENTITY_FILE
    from juanzong.edge.renew import request_renewal

    settings = _settings(args)
    doc = request_renewal(_db(settings), settings.keys_dir, settings.home / IDENTITY_FILE, Path(args.out), args.actor)
    _emit(
        args,
        {
            "appliance_id": doc["appliance_id"],
            "signing_public": doc["signing_public"],
            "out": args.out,
            "next": "在中心执行 central enroll --renew <此文件> --out enrolment.json，再执行 edge pair --enrolment enrolment.json",
        },
        f"已生成新的签名与 TLS 密钥，换钥申请写在 {args.out}（由旧密钥担保）",
        f"下一步：在中心执行 central enroll --renew {args.out} --out enrolment.json，再执行 edge pair --enrolment enrolment.json",
    )
    return 0


def cmd_lockdown(args: argparse.Namespace) -> int:
    from juanzong.edge import audit
    from juanzong.edge.lockdown.command import lockdown

    settings = _settings(args)
    _db(settings).close()  # the database key exists (keys/ is read-only to the locked-down service)
    out = lockdown(
        settings,
        Path(args.out).resolve(),
        apply=args.apply,
        root=Path(args.root),
        executable=Path(args.executable) if args.executable else None,
    )
    if args.apply:
        from juanzong.edge.lockdown.media_rules import record_root

        record_root(_db(settings), Path(args.root))  # `edge media init` / `edge media rules` keep its udev rules in step
        audit.record(
            _db(settings),
            place=settings.appliance_id,
            actor="admin",
            action=Action.LOCKDOWN_APPLY,
            target=str(args.root),
            files=len(out["files"]),
            exposure={unit: str(score) for unit, score in out["exposure"].items()},
        )
    done = "已安装" if args.apply else "已生成（未安装）"
    _emit(args, out, f"设备加固配置{done}：{len(out['files'])} 个文件，写在 {args.out}；计划见 {args.out}/plan.json")
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


HOME_HELP = "设备目录（默认取环境变量 $JUANZONG_HOME）"
ITEM_SYNTAX = "名称:页数[:正卷|副卷][:复印件][:黑白][:目录=卷宗目录名]，如 起诉状:5 或 证据材料:12:副卷:复印件 或 庭审笔录:8:目录=庭审笔录"


def register(sub: argparse._SubParsersAction) -> None:
    edge = sub.add_parser("edge", help="扫描点设备", description="扫描点设备的命令").add_subparsers(
        dest="edge_command", required=True, title="子命令", metavar="命令"
    )

    def cmd(name: str, func, help: str, json: bool = True) -> argparse.ArgumentParser:
        p = edge.add_parser(name, help=help, description=help)
        p.add_argument("--home", help=HOME_HELP)
        if json:
            p.add_argument("--json", action="store_true", help=JSON_HELP)
        p.set_defaults(func=func)
        return p

    p = cmd("init", cmd_init, "建立设备目录：配置、密钥、数据库、热文件夹")
    p.add_argument("--profile", required=True, help="扫描仪配置名（juanzong profiles 可列出）")
    p.add_argument("--printer", default="file-printer", help="回执打印机配置名")
    p.add_argument("--central", help="中心 central init 生成的 central-identity.json")
    p.add_argument("--central-url", help="中心服务器地址，如 https://archive.court.internal:8470")
    p.add_argument("--court-network", action="append", help="允许同步连接的法院内网地址段（CIDR，可重复）")
    p.add_argument("--name", default="扫描点", help="扫描点名称")
    p.add_argument("--court", help="法院名称（印在回执和封面页上），如 北京市东城区人民法院")
    p.add_argument("--hot-folder", help="热文件夹（扫描仪写入的目录；默认取扫描仪配置，生产环境应为 tmpfs 挂载点）")

    config = edge.add_parser("config", help="查看或修改本设备的设置", description="查看或修改本设备的设置").add_subparsers(
        dest="config_command", required=True, title="子命令", metavar="命令"
    )
    p = config.add_parser("show", help="列出全部设置及其说明")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_config_show)
    p = config.add_parser("set", help="修改一项设置（先校验，再写入并记入审计）")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("name", metavar="设置名", help="如 court、hot_folder、printer_profile、court_networks")
    p.add_argument("value", nargs="+", metavar="值", help="列表设置（court_networks）可给多个值")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_config_set)

    p = cmd("pair", cmd_pair, "安装中心的身份文件和/或登记后签发的客户端证书")
    p.add_argument("--central", help="中心的身份文件 central-identity.json")
    p.add_argument("--enrolment", help="central enroll --out 写出的登记文件")

    intake = edge.add_parser("intake", help="窗口收取登记", description="窗口收取登记").add_subparsers(
        dest="intake_command", required=True, title="子命令", metavar="命令"
    )
    p = intake.add_parser("add", help="登记一次收取并打印回执", description="登记一次收取并打印回执")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--case", required=True, help="案号，如（2026）京0102民初1234号")
    p.add_argument("--submitter", required=True, help="提交人")
    p.add_argument("--item", action="append", required=True, help=f"材料（可重复）：{ITEM_SYNTAX}")
    p.add_argument("--received", help="收取时间（ISO 格式，默认现在）")
    p.add_argument("--urgent", action="store_true", help="加急")
    p.add_argument("--classified", action="store_true", help="涉密材料（将被拒收）")
    p.add_argument(
        "--not-classified", action="store_true", help="确认名称含“秘密/机密”等字样的材料不是涉密材料（如商业秘密证据），记入审计"
    )
    p.add_argument("--clerk", help="经办人")
    p.add_argument("--no-print", action="store_true", help="不打印回执")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_intake_add)

    p = cmd("cover-sheet", cmd_cover_sheet, "生成材料的封面页（300 dpi 图像）")
    p.add_argument("item_id", metavar="材料编号")
    p.add_argument("--out", required=True, help="输出图像文件")

    p = cmd("active", cmd_active, "指定当前材料：没有封面页的扫描页归入它")
    p.add_argument("item_id", nargs="?", metavar="材料编号")
    p.add_argument("--clear", action="store_true", help="取消当前材料")

    p = cmd("close", cmd_close, "结束一件材料的扫描：核对申报页数与实际页数（多扫/漏扫）及质检提示")
    p.add_argument("item_id", metavar="材料编号")

    p = cmd("replace", cmd_replace, "重扫一页：下一张扫描页替换这一页，页码不变（每次只能有一个待替换的页面）")
    p.add_argument("page_id", nargs="?", metavar="页面编号")
    p.add_argument("--cancel", action="store_true", help="取消已有的待替换页面（可与新的页面编号同用）")

    p = cmd("reopen", cmd_reopen, "重新打开已结束扫描的材料（可补扫、归入页面）")
    p.add_argument("item_id", metavar="材料编号")
    p.add_argument("--reason", required=True, help="原因（记入审计）")

    p = cmd("pages", cmd_pages, "列出一件材料的页面（页码、页面编号、正反面、来源文件、质检提示）")
    p.add_argument("item_id", nargs="?", metavar="材料编号")
    p.add_argument("--unassigned", action="store_true", help="列出未归属队列中的页面")

    p = cmd("assign", cmd_assign, "把未归属队列中的页面归入一件材料（按给出的顺序连续编页）")
    p.add_argument("page_ids", nargs="+", metavar="页面编号")
    p.add_argument("--item", required=True, help="材料编号")
    p.add_argument("--at", type=int, help="从第几页的位置插入（默认接在最后）")

    p = cmd("discard", cmd_discard, "作废一个页面（如误扫的白纸）：记录保留并随下一批次送中心")
    p.add_argument("page_id", metavar="页面编号")
    p.add_argument("--reason", required=True, help="原因（记入审计）")

    p = cmd("quarantine", cmd_quarantine, "列出隔离的文件，或把一个文件放回热文件夹重新导入")
    p.add_argument("--retry", metavar="隔离编号", help="解密后放回热文件夹重新导入")

    p = cmd("ingest", cmd_ingest, "处理热文件夹中现有的全部文件后退出")
    p.add_argument("--once", action="store_true", required=True, help="处理完现有文件即退出")
    p.add_argument("--settle", type=float, help="文件静止多少秒后才处理（默认取扫描仪配置）")

    calendar = edge.add_parser("calendar", help="本设备的节假日安排", description="本设备的节假日安排").add_subparsers(
        dest="calendar_command", required=True, title="子命令", metavar="命令"
    )
    p = calendar.add_parser("import", help="导入国务院放假安排，并重新计算暂定的办理时限")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("file", metavar="安排文件", help="TOML 文件：[years.YYYY] source / holidays / workdays")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_calendar_import)
    p = calendar.add_parser("status", help="本设备各年份的日历依据（正式或暂定）和来源")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_calendar_status)

    op = edge.add_parser("operator", help="窗口操作员（收件员、扫描员、主管）", description="窗口操作员").add_subparsers(
        dest="operator_command", required=True, title="子命令", metavar="命令"
    )
    p = op.add_parser("add", help="添加操作员；PIN 取自 --pin 或标准输入")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--id", required=True, help="工号（2-16 位字母或数字）")
    p.add_argument("--name", required=True, help="姓名")
    p.add_argument(
        "--role", required=True, choices=["clerk", "operator", "supervisor"], help="角色：clerk 收件员，operator 扫描员，supervisor 主管"
    )
    p.add_argument("--pin", help="6-12 位数字（默认从标准输入读一行）")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_operator)
    p = op.add_parser("disable", help="停用操作员并结束其登录")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--id", required=True, help="工号")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_operator)
    p = op.add_parser("list", help="列出操作员")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_operator)

    p = cmd("run", cmd_run, "运行设备：监视热文件夹、入库、封包、同步、打印，并提供窗口收件页面", json=False)
    p.set_defaults(log_info=True)
    p = cmd(
        "documents-worker", cmd_documents_worker, "后台生成 PDF 与文字识别的进程（由 edge run 管理；低优先级，按时限先后处理）", json=False
    )
    p.set_defaults(log_info=True)
    p = cmd("document", cmd_document, "把一件材料当前的 PDF 解密写到文件（抽查用，记入审计）")
    p.add_argument("item_id", metavar="材料编号")
    p.add_argument("--out", required=True, help="输出文件")
    cmd("sync", cmd_sync, "立即封包待同步的页面并同步到中心")
    cmd("status", cmd_status, "查看待处理、已入库、隔离和同步情况")
    cmd("verify", cmd_verify, "完整性检查：审计链、中心见证过的链头、每个数据块")

    p = cmd("purge", cmd_purge, "销毁中心已确认、且已过保留期限的数据的密钥（加密擦除，记入审计）")
    p.add_argument("--now", help="判断保留期限所用的时间（ISO 格式，默认现在）")
    p.add_argument("--actor", default="admin", help="执行人（记入审计）")

    keys = edge.add_parser("keys", help="本设备的密钥", description="本设备的密钥").add_subparsers(
        dest="keys_command", required=True, title="子命令", metavar="命令"
    )
    p = keys.add_parser("rotate", help="更换密钥加密密钥：重写所有包装密钥和保险库数据，销毁旧密钥（记入审计）")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.add_argument("--actor", default="admin", help="执行人（记入审计）")
    p.set_defaults(func=cmd_keys_rotate)
    p = keys.add_parser("renew", help="生成新的签名与 TLS 密钥，由旧密钥担保；交中心 central enroll --renew 登记")
    p.add_argument("--home", help=HOME_HELP)
    p.add_argument("--out", required=True, help="写给中心的换钥申请文件")
    p.add_argument("--actor", default="admin", help="执行人（记入审计）")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_keys_renew)

    p = cmd("lockdown", cmd_lockdown, "生成（加 --apply 安装）设备加固配置：服务、tmpfs、防火墙、udev、关闭交换分区")
    p.add_argument("--out", required=True, help="生成文件的目录（镜像 / 的目录树）及 plan.json")
    p.add_argument("--apply", action="store_true", help="安装并执行计划中的命令（需 root）")
    p.add_argument("--root", default="/", help="安装到这个根目录而不是 /（预演；不执行命令）")
    p.add_argument("--executable", help="服务单元中 juanzong 程序的路径（默认当前程序）")
    register_media(edge)

    p = sub.add_parser("demo", help="在本机演示全过程：中心 + 扫描设备 + 模拟扫描仪", description="在本机演示全过程")
    p.add_argument("--keep", help="把两个设备目录留在这个目录中")
    p.add_argument("--pages", type=int, default=0, help="每件材料额外的文字页数")
    p.add_argument("--kiosk", action="store_true", help="演示后在浏览器中保持窗口收件页面，直到按 Ctrl-C")
    p.add_argument(
        "--serve",
        action="store_true",
        help="演示后保持中心（档案室页面）和扫描设备（窗口收件、质检工作站）运行，并打印演示账号，直到按 Ctrl-C",
    )
    p.add_argument(
        "--stack",
        choices=["sqlite-local", "postgres-s3"],
        default="sqlite-local",
        help="中心使用 SQLite + 本地磁盘，或由演示自行启动的 PostgreSQL 集群 + S3 存储",
    )
    p.set_defaults(func=lambda a: __import__("juanzong.edge.tooling.demo", fromlist=["main"]).main(a))

    p = sub.add_parser("bench", help="性能测试", description="性能测试").add_subparsers(
        dest="bench_command", required=True, title="子命令", metavar="命令"
    )
    c = p.add_parser("central", help="中心在 SQLite + 磁盘与 PostgreSQL + S3 上的接收、校验、对账与内存")
    c.add_argument("--appliances", type=int, default=8, help="同时发送的模拟扫描设备数")
    c.add_argument("--batches", type=int, default=4, help="每台设备的批次数")
    c.add_argument("--pages-per-batch", type=int, default=10, help="每批页数")
    c.add_argument("--page-kb", type=int, default=1500, help="每页明文大小（300 dpi 彩色 A4 JPEG 约 1500 KB）")
    c.add_argument("--workers", type=int, default=2, help="中心的工作进程数（central serve --workers）")
    c.add_argument("--report-pages", type=int, default=1_000_000, help="对账时载入的页面行数")
    c.add_argument("--stacks", default="sqlite-local,postgres-s3", help="逗号分隔：sqlite-local、postgres-s3")
    c.add_argument("--keep", action="store_true", help="保留工作目录（日志、设备目录）供检查")
    c.set_defaults(func=lambda a: __import__("juanzong.central.bench", fromlist=["main"]).main(a))
    b = p.add_parser("ingest", help="入库速度：从热文件夹到加密落盘的每秒页数")
    b.add_argument("--pages", type=int, default=200, help="页数")
    b.add_argument("--no-baseline", action="store_true", help="不运行 pyzbar 对照")
    b.add_argument("--profile", action="store_true", help="同时对默认后端做 cProfile 分析")
    b.add_argument("--hot-disk", action="store_true", help="热文件夹放在数据盘而不是 tmpfs")
    b.add_argument("--ocr-beside", action="store_true", help="在文字识别进程（nice 10）运行的同时再测一次默认后端")
    b.set_defaults(func=lambda a: __import__("juanzong.edge.tooling.bench", fromlist=["main"]).main(a))
    b = p.add_parser("memory", help="各类文件入库时的内存峰值（RSS）")
    b.add_argument("--quick", action="store_true", help="只测 A4 页面（跳过 A3 600 dpi）")
    b.add_argument("--json", action="store_true", help=JSON_HELP)
    b.set_defaults(func=lambda a: __import__("juanzong.edge.tooling.memprobe", fromlist=["main"]).main(a))
    b = p.add_parser("ocr", help="文字识别进程与 rapidocr 默认设置对比（生成的法院页面）：每页秒数、准确率、文字提取、内存")
    b.add_argument("--pages", type=int, default=20, help="页数")
    b.add_argument("--no-baseline", action="store_true", help="不运行 rapidocr 默认设置的对照")
    b.add_argument("--rss-every", type=int, default=50, help="每识别多少页记录一次内存（RSS），看长时间运行是否平稳")
    b.set_defaults(func=lambda a: __import__("juanzong.edge.tooling.ocrbench", fromlist=["main"]).main(a))
    b = p.add_parser("qc", help="质检每页耗时（与入库相同的解码路径，生成的 A4 页面）：分析与解码的中位数")
    b.add_argument("--repeat", type=int, default=5, help="每页重复次数")
    b.set_defaults(func=lambda a: __import__("juanzong.edge.tooling.qcbench", fromlist=["main"]).main(a))


# --- removable media (air-gapped carry) ---------------------------------------------------


def _operator(args: argparse.Namespace) -> str:
    import getpass
    import os

    return args.operator or os.environ.get("SUDO_USER") or getpass.getuser()


def cmd_media_init(args: argparse.Namespace) -> int:
    from juanzong.edge.keys import load_keys
    from juanzong.edge.lockdown.media_rules import refresh
    from juanzong.edge.media import init_medium

    settings = _settings(args)
    db, now = _db(settings), clock.now(TZ)
    medium = init_medium(
        db, settings.appliance_id, load_keys(settings.keys_dir), Path(args.registration), Path(args.device), actor=_operator(args), now=now
    )
    rules = refresh(db, settings.appliance_id, now, actor=_operator(args), close_window=True)
    reg = medium.registration
    out = {
        "medium_id": reg.medium_id,
        "label": reg.label,
        "valid_until": reg.valid_until,
        "fs_uuid": medium.fs_uuid,
        "device": str(args.device),
        "udev_rules": rules.to_dict(),
    }
    if args.json:
        print_json(out)
    else:
        uuid = f"，文件系统标识 {medium.fs_uuid}" if medium.fs_uuid else "（普通目录，未记录文件系统标识）"
        print(f"介质 {shown(reg.medium_id)}（{reg.label}）已准备好{uuid}，登记有效期至 {reg.valid_until}")
        print(_rules_line(rules))
    return 0


def _rules_line(rules) -> str:
    if rules.root is None:
        return "本设备未安装加固配置（edge lockdown --apply），无需更新 udev 规则"
    state = "已更新" if rules.written else "无变化"
    window = "，介质准备窗口已关闭" if rules.window_closed else ""
    return f"登记介质的 udev 规则{state}（{rules.path}，放行 {len(rules.media)} 个介质）{window}"


def cmd_media_rules(args: argparse.Namespace) -> int:
    from juanzong.edge.lockdown.media_rules import refresh

    settings = _settings(args)
    rules = refresh(_db(settings), settings.appliance_id, clock.now(TZ), actor=_operator(args), root=Path(args.root) if args.root else None)
    _emit(args, rules.to_dict(), _rules_line(rules))
    return 0


def cmd_media_export(args: argparse.Namespace) -> int:
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.keys import load_keys
    from juanzong.edge.media import export

    settings = _settings(args)
    report = export(
        _db(settings),
        settings.appliance_id,
        load_keys(settings.keys_dir),
        BlobStore(settings.blob_dir),
        Path(args.to),
        actor=_operator(args),
        now=clock.now(TZ),
    )
    if args.json:
        print_json(report.to_dict())
    elif not report.batches:
        print(f"没有待送交的批次；介质 {shown(report.medium_id)} 的目录已更新")
    else:
        mb = report.bytes_written / 1e6
        print(
            f"已写入介质 {shown(report.medium_id)} 并回读校验：{len(report.batches)} 个批次，"
            f"新写 {report.blobs_written} 个数据块（{mb:.1f} MB），沿用 {report.blobs_reused} 个。请将介质送交档案室导入。"
        )
    return 0


def cmd_media_receipts(args: argparse.Namespace) -> int:
    from juanzong.edge.keys import load_keys
    from juanzong.edge.media import take_receipts

    settings = _settings(args)
    report = take_receipts(
        _db(settings), settings.appliance_id, load_keys(settings.keys_dir), Path(args.source), actor=_operator(args), now=clock.now(TZ)
    )
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
    p = cmd("rules", cmd_media_rules, "按登记介质及其有效期重新生成 udev 规则（加固后的设备每小时自动执行）")
    p.add_argument("--root", help="规则所在的根目录（默认取 edge lockdown --apply 安装时的根目录）")
