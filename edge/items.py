"""What the operator does to items and pages after scanning: close, replace, and the QC station's fixes.

Closing an item compares its declared pages with the pages scanned (多扫 /
漏扫) and stores the findings with the item; the item travels again in the
next batch. Replacing a page arms a one-shot target: the next page scanned
takes the replaced page's item, number and side (edge.ingest.route/record), so
every other page keeps its number.
"""

from __future__ import annotations

import json
from enum import StrEnum

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.ingest.context import PageRole, Severity, Side, count_findings
from juanzong.edge.intake import load_item
from juanzong.edge.repo import items, pages, state, write_tx
from juanzong.edge.repo import qc as qc_sql
from juanzong.edge.repo.batches import BatchState
from juanzong.edge.repo.state import StateKey
from juanzong.shared import clock
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.errors import AppError, ErrorCode


def close_item(db: Database, appliance_id: str, item_id: str, actor: str = "operator") -> dict:
    """Close (and lock) an item: its count against the declared pages — blank back sides
    are recorded but never counted — and the open QC findings of its pages."""
    item = load_item(db, item_id)
    with write_tx(db):
        scanned = pages.scanned_count(db, item_id)
        findings = [f.to_dict() for f in count_findings(item["declared_pages"], scanned)]
        items.close(db, item_id, clock.iso("seconds"), json.dumps(findings, ensure_ascii=False))
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.CLOSE_ITEM,
            target=item_id,
            declared=item["declared_pages"],
            scanned=scanned,
            findings=[f["code"] for f in findings],
        )
    return {
        "item_id": item_id,
        "name": item["name"],
        "declared_pages": item["declared_pages"],
        "scanned_pages": scanned,
        "blank_backs": pages.blank_backs(db, item_id),
        "findings": findings,
        "page_findings": page_findings(db, item_id),
    }


def page_findings(db: Database, item_id: str) -> list[dict]:
    """Open QC findings of the item's numbered pages, in page order."""
    out = []
    for row in pages.of_item(db, item_id):
        if row["role"] != PageRole.PAGE:
            continue
        for f in open_findings(row["findings"], row["accepted"]):
            out.append(
                {"page_no": row["page_no"], "page_id": row["id"], "code": f["code"], "severity": f["severity"], "message": f["message"]}
            )
    return sorted(out, key=lambda f: f["page_no"] or 0)


def page_listing(db: Database, item_id: str | None) -> list[dict]:
    """`edge pages`: every image of an item (or of the unassigned queue) with its open findings,
    numbered pages first in page order, then covers, replaced and discarded images in scan order."""
    if item_id is not None:
        load_item(db, item_id)  # ITEM_NOT_FOUND for a mistyped id
    rows = [
        {
            "page_no": r["page_no"],
            "page_id": r["id"],
            "side": r["side"],
            "role": r["role"],
            "source_name": r["source_name"],
            "discard_reason": r["discard_reason"],
            "replaces": r["replaces"],
            "findings": open_findings(r["findings"], r["accepted"]),
        }
        for r in pages.of_item(db, item_id)
    ]
    # numbered pages in page order (a replaced or assigned page sits at its number), then the rest in scan order
    return sorted(rows, key=lambda r: (r["page_no"] is None, r["page_no"] or 0))


def arm_replacement(
    db: Database, appliance_id: str, page_id: str, actor: str = "operator", *, duplex: bool = False, cancel: bool = False
) -> dict:
    """The next scan replaces this page, keeping its number and side. One at a time: a
    second one while a rescan is pending is refused, unless `cancel` drops the first
    (on record). With a duplex scanner the rescanned sheet's two images take over both
    sides of the original sheet, so its back never lands anywhere else."""
    found = pages.item_page(db, page_id)
    if found is None or found[2] is None:
        raise AppError(ErrorCode.PAGE_NOT_FOUND, page_id=page_id)
    item_id, side, page_no = found
    item = load_item(db, item_id)
    if item["closed_at"]:
        raise AppError(ErrorCode.ITEM_CLOSED, item_id=item_id, name=item["name"], what="重扫页面")
    with write_tx(db):
        _refuse_or_cancel_pending(db, appliance_id, actor, cancel)
        partner = pages.sheet_partner(db, page_id) if duplex else None
        sheet = [page_id, partner] if side == Side.RECTO else [partner, page_id]
        plan = [p for p in sheet if p]
        state.put(db, StateKey.REPLACE_TARGET, ",".join(plan))
        audit.record(
            db, place=appliance_id, actor=actor, action=Action.QC_OVERRIDE, target=page_id, what="replace", page_no=page_no, sheet=plan
        )
    return {"replace": page_id, "item_id": item_id, "page_no": page_no, "images": plan}


def cancel_replacement(db: Database, appliance_id: str, actor: str = "operator") -> dict:
    with write_tx(db):
        cancelled = _refuse_or_cancel_pending(db, appliance_id, actor, cancel=True)
    return {"cancelled": cancelled}


def _refuse_or_cancel_pending(db: Database, appliance_id: str, actor: str, cancel: bool) -> list[str]:
    pending = [p for p in (state.get(db, StateKey.REPLACE_TARGET) or "").split(",") if p]
    shown = {p: found for p in pending if (found := pages.replaceable(db, p))}
    live = list(shown)
    if not live:
        return []
    if not cancel:
        page_id = next((p for p in live if shown[p][2] is not None), live[0])  # the numbered side of the sheet
        item_id, _side, page_no = shown[page_id]
        raise AppError(ErrorCode.REPLACE_PENDING, item_id=item_id, page_no=page_no or "?", page_id=page_id)
    state.put(db, StateKey.REPLACE_TARGET, None)
    audit.record(db, place=appliance_id, actor=actor, action=Action.QC_OVERRIDE, target=live[0], what="replace_cancel", sheet=live)
    return live


def assign_pages(
    db: Database, appliance_id: str, page_ids: list[str], item_id: str, at: int | None = None, actor: str = "operator"
) -> list[dict]:
    """File pages from the unassigned queue into an item, in the order given, gap-free
    (`edge assign`); a closed item must be reopened first."""
    item = load_item(db, item_id)
    if item["closed_at"]:
        raise AppError(ErrorCode.ITEM_CLOSED, item_id=item_id, name=item["name"], what="归入页面")
    return [assign_page(db, appliance_id, page_id, item_id, None if at is None else at + i, actor) for i, page_id in enumerate(page_ids)]


# ---- the QC station's page and item actions (edge/web/station.py calls these, as would a command)
#
# Every action is one write transaction with its audit record (actor = the operator), keeps
# the page numbers of every item it touches gap-free (1..n, in the order the operator sees),
# and clears `batch_id` on whatever changed so the change travels with the next batch.
# The item's PDF is rebuilt because the documents triggers mark the item dirty on any change
# of a page's item, number, role, side or rotation (edge/db.py m007_documents).


def _now() -> str:
    return clock.iso("seconds")


def _reason(reason: str, what: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise AppError(ErrorCode.QC_REASON_REQUIRED, what=what)
    return text[:500]


def _page(db: Database, page_id: str) -> dict:
    row = qc_sql.page_row(db, page_id)
    if row is None:
        raise AppError(ErrorCode.PAGE_NOT_FOUND, page_id=page_id)
    return row


def numbered(db: Database, item_id: str) -> list[str]:
    """The item's numbered pages, in page order."""
    return qc_sql.numbered_ids(db, item_id)


def _editable(db: Database, item_id: str) -> dict:
    item = load_item(db, item_id)
    if item.get("approved_at"):
        raise AppError(ErrorCode.QC_ITEM_LOCKED, name=item["name"])
    return item


def _renumber(db: Database, item_id: str, order: list[str]) -> None:
    """Pages of `order` become 1..n in that order; only the pages whose number changed travel again."""
    old = qc_sql.page_numbers(db, item_id)
    for i, page_id in enumerate(order, 1):  # negative first: UNIQUE(item_id, page_no) holds at every step
        qc_sql.set_page_no(db, page_id, -i, travels=False)
    for i, page_id in enumerate(order, 1):
        qc_sql.set_page_no(db, page_id, i, travels=old.get(page_id) != i)
    _item_changed(db, item_id)


def _item_changed(db: Database, item_id: str) -> None:
    """The item travels again; a closed item's 多扫/漏扫 findings follow its new page count."""
    closed_at, declared = qc_sql.item_closure(db, item_id)
    findings = None
    if closed_at is not None:
        scanned = len(numbered(db, item_id))
        findings = json.dumps([f.to_dict() for f in count_findings(declared, scanned)], ensure_ascii=False)
    qc_sql.mark_item_changed(db, item_id, findings)


def _position(position: int, count: int) -> int:
    if not 1 <= position <= count:
        raise AppError(ErrorCode.QC_POSITION_INVALID, position=position, count=count)
    return position


def move_page(db: Database, appliance_id: str, page_id: str, position: int, actor: str = "operator") -> dict:
    """Move one page to `position` (1-based) within its item; up/down are position ±1."""
    page = _page(db, page_id)
    if page["role"] != PageRole.PAGE or page["item_id"] is None:
        raise AppError(ErrorCode.QC_PAGE_NOT_MOVABLE, page_id=page_id, why="不是已编号的页面")
    with write_tx(db):
        _editable(db, page["item_id"])
        order = numbered(db, page["item_id"])
        _position(position, len(order))
        order.remove(page_id)
        order.insert(position - 1, page_id)
        _renumber(db, page["item_id"], order)
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.QC_MOVE,
            target=page_id,
            item=page["item_id"],
            page_no=page["page_no"],
            to=position,
        )
    return {"page_id": page_id, "item_id": page["item_id"], "from": page["page_no"], "to": position}


def move_pages(
    db: Database, appliance_id: str, page_ids: list[str], to_item: str, actor: str = "operator", position: int | None = None
) -> dict:
    """Move pages (in the order given) to another item, at `position` or after its last page."""
    if not page_ids:
        raise AppError(ErrorCode.QC_PAGE_NOT_MOVABLE, page_id="-", why="没有选择页面")
    pages = [_page(db, p) for p in page_ids]
    with write_tx(db):
        _editable(db, to_item)
        sources = sorted({p["item_id"] for p in pages if p["item_id"]})
        for p in pages:
            if p["role"] != PageRole.PAGE or p["item_id"] in (None, to_item):
                raise AppError(ErrorCode.QC_PAGE_NOT_MOVABLE, page_id=p["id"], why="不是其他材料中已编号的页面")
        for source in sources:
            _editable(db, source)
        target = numbered(db, to_item)
        at = len(target) + 1 if position is None else _position(position, len(target) + 1)
        for p in pages:  # numberless until renumbered: never two rows with one number
            qc_sql.move_to_item_unnumbered(db, p["id"], to_item)
        for source in sources:
            _renumber(db, source, numbered(db, source))
        _renumber(db, to_item, target[: at - 1] + list(page_ids) + target[at - 1 :])
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.QC_MOVE_PAGES,
            target=to_item,
            pages=list(page_ids),
            sources=sources,
            position=at,
        )
    return {"to_item": to_item, "pages": list(page_ids), "position": at}


def assign_page(db: Database, appliance_id: str, page_id: str, item_id: str, position: int | None = None, actor: str = "operator") -> dict:
    """File a page from the unassigned queue into an item, at `position` or after its last page."""
    page = _page(db, page_id)
    if page["role"] != PageRole.PAGE or page["item_id"] is not None:
        raise AppError(ErrorCode.QC_PAGE_NOT_MOVABLE, page_id=page_id, why="不在未归属队列中")
    with write_tx(db):
        _editable(db, item_id)
        order = numbered(db, item_id)
        at = len(order) + 1 if position is None else _position(position, len(order) + 1)
        qc_sql.file_into_item(db, page_id, item_id)
        _renumber(db, item_id, order[: at - 1] + [page_id] + order[at - 1 :])
        audit.record(db, place=appliance_id, actor=actor, action=Action.QC_ASSIGN, target=page_id, item=item_id, position=at)
    return {"page_id": page_id, "item_id": item_id, "position": at}


def discard_page(db: Database, appliance_id: str, page_id: str, reason: str, actor: str = "operator") -> dict:
    """Take a page out of the numbering with a reason; its row and blob stay (on record, sent to central)."""
    why = _reason(reason, "作废页面")
    page = _page(db, page_id)
    if page["role"] != PageRole.PAGE:
        raise AppError(ErrorCode.QC_PAGE_NOT_MOVABLE, page_id=page_id, why="不是有效页面")
    with write_tx(db):
        if page["item_id"]:
            _editable(db, page["item_id"])
        qc_sql.discard(db, page_id, why, actor)
        if page["item_id"]:
            _renumber(db, page["item_id"], numbered(db, page["item_id"]))
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.QC_DISCARD,
            target=page_id,
            item=page["item_id"],
            page_no=page["page_no"],
            reason=why,
        )
    return {"page_id": page_id, "item_id": page["item_id"], "reason": why}


ROTATIONS = (0, 90, 180, 270)


def rotate_page(db: Database, appliance_id: str, page_id: str, degrees: int, actor: str = "operator") -> dict:
    """Turn a page by a quarter turn: metadata only (PDF /Rotate); the master image is never re-encoded."""
    if degrees % 90:
        raise AppError(ErrorCode.QC_PAGE_NOT_MOVABLE, page_id=page_id, why="只能按 90 度旋转")
    page = _page(db, page_id)
    if page["role"] != PageRole.PAGE:
        raise AppError(ErrorCode.QC_PAGE_NOT_MOVABLE, page_id=page_id, why="不是有效页面")
    turned = (int(page.get("rotation") or 0) + degrees) % 360
    with write_tx(db):
        if page["item_id"]:
            _editable(db, page["item_id"])
        qc_sql.set_rotation(db, page_id, turned)
        if page["item_id"]:
            _item_changed(db, page["item_id"])
        audit.record(db, place=appliance_id, actor=actor, action=Action.QC_ROTATE, target=page_id, by=degrees, rotation=turned)
    return {"page_id": page_id, "rotation": turned}


def accept_finding(db: Database, appliance_id: str, page_id: str, code: str, reason: str, actor: str = "operator") -> dict:
    """The operator keeps a page a QC finding flagged (e.g. a blank back that must stay): on record, with a reason."""
    why = _reason(reason, "确认质检问题")
    page = _page(db, page_id)
    codes = {f["code"] for f in json.loads(page["findings"])}
    accepted = json.loads(page["accepted"])
    if code not in codes or any(a["code"] == code for a in accepted):
        raise AppError(ErrorCode.QC_FINDING_UNKNOWN, page_id=page_id, finding=code)
    accepted.append({"code": code, "reason": why, "by": actor, "at": _now()})
    with write_tx(db):
        if page["item_id"]:
            _editable(db, page["item_id"])
        qc_sql.set_accepted(db, page_id, json.dumps(accepted, ensure_ascii=False))
        audit.record(db, place=appliance_id, actor=actor, action=Action.QC_OVERRIDE, target=page_id, what="accept", code=code, reason=why)
    return {"page_id": page_id, "code": code, "reason": why}


def reopen_item(db: Database, appliance_id: str, item_id: str, reason: str, actor: str = "operator") -> dict:
    """Reopen a closed (or approved) item: approval and check are withdrawn, on record."""
    why = _reason(reason, "重新打开材料")
    with write_tx(db):
        item = load_item(db, item_id)
        if item["closed_at"] is None:
            raise AppError(ErrorCode.QC_ITEM_NOT_CLOSED, name=item["name"])
        qc_sql.reopen(db, item_id)
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.REOPEN_ITEM,
            target=item_id,
            reason=why,
            was_approved=bool(item.get("approved_at")),
        )
    return {"item_id": item_id, "reason": why}


def needs_two_person(item: dict, rules: tuple[str, ...]) -> bool:
    """双人质检 rule: '全部' = every item, '副卷' = internal volume, otherwise a word in the directory or name."""
    for rule in rules:
        if rule == "全部" or (rule == "副卷" and item["volume"] == "internal"):
            return True
        if rule not in ("全部", "副卷") and (rule in item["catalog_dir"] or rule in item["name"]):
            return True
    return False


def approve_item(
    db: Database, appliance_id: str, item_id: str, actor: str = "operator", reason: str = "", two_person_rules: tuple[str, ...] = ()
) -> dict:
    """Approve an item (closing it first when still open). Declared ≠ scanned needs a written reason.
    Under the two-person rule the item then waits for another operator's `check_item`."""
    item = load_item(db, item_id)
    if item.get("approved_at"):
        raise AppError(ErrorCode.QC_ITEM_LOCKED, name=item["name"])
    if item["closed_at"] is None:
        close_item(db, appliance_id, item_id, actor=actor)
    why = " ".join((reason or "").split())[:500]
    scanned = len(numbered(db, item_id))
    if scanned != item["declared_pages"] and not why:
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.QC_APPROVE,
            target=item_id,
            outcome=Outcome.REFUSED,
            declared=item["declared_pages"],
            scanned=scanned,
        )
        raise AppError(ErrorCode.QC_COUNT_MISMATCH, declared=item["declared_pages"], scanned=scanned)
    two = needs_two_person(item, two_person_rules)
    with write_tx(db):
        qc_sql.approve(db, item_id, _now(), actor, why, two)
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.QC_APPROVE,
            target=item_id,
            declared=item["declared_pages"],
            scanned=scanned,
            reason=why,
            two_person=two,
        )
    return {"item_id": item_id, "scanned": scanned, "two_person": two, "reason": why}


def check_item(db: Database, appliance_id: str, item_id: str, actor: str = "operator") -> dict:
    """The second person's check (复核) of an item approved under the two-person rule."""
    item = load_item(db, item_id)
    if not item.get("approved_at") or not item["two_person"] or item["checked_at"]:
        raise AppError(ErrorCode.QC_NOT_AWAITING_CHECK, name=item["name"])
    if item["approved_by"] == actor:
        audit.record(
            db, place=appliance_id, actor=actor, action=Action.QC_CHECK, target=item_id, outcome=Outcome.REFUSED, reason="same operator"
        )
        raise AppError(ErrorCode.QC_SAME_OPERATOR, operator=actor)
    with write_tx(db):
        qc_sql.check(db, item_id, _now(), actor)
        audit.record(db, place=appliance_id, actor=actor, action=Action.QC_CHECK, target=item_id, approved_by=item["approved_by"])
    return {"item_id": item_id, "checked_by": actor}


class ItemState(StrEnum):
    """Where an item stands on the QC station's work list."""

    WAITING = "waiting"  # 待扫描: nothing scanned yet
    SCANNING = "scanning"  # 扫描中
    ATTENTION = "attention"  # 待处理: QC or count findings not yet dealt with
    CLOSED = "closed"  # 已结束扫描, not approved
    AWAITING_CHECK = "awaiting_check"  # 待复核 (双人质检)
    APPROVED = "approved"  # 已批准, not yet acknowledged by central
    SYNCED = "synced"  # 已同步: approved and acknowledged


STATE_NAMES = {
    ItemState.WAITING: "待扫描",
    ItemState.SCANNING: "扫描中",
    ItemState.ATTENTION: "待处理",
    ItemState.CLOSED: "已结束扫描",
    ItemState.AWAITING_CHECK: "待复核",
    ItemState.APPROVED: "已批准",
    ItemState.SYNCED: "已同步",
}


def open_findings(findings_json: str, accepted_json: str) -> list[dict]:
    """A page's findings the operator has not accepted."""
    accepted = {a["code"] for a in json.loads(accepted_json)}
    return [f for f in json.loads(findings_json) if f["code"] not in accepted]


def item_state(item: dict, pages: list[tuple[str, str]]) -> tuple[ItemState, int]:
    """State and open-findings count of an item row (with `scanned`, `batch_state`) and its pages' findings."""
    open_ = [f for findings, accepted in pages for f in open_findings(findings, accepted)]
    counted = json.loads(item["count_findings"]) if item["closed_at"] and not item["approved_at"] else []  # approval settles them
    total = len(open_) + len(counted)
    if item["approved_at"]:
        if item["two_person"] and not item["checked_at"]:
            return ItemState.AWAITING_CHECK, total
        synced = item["batch_id"] is not None and item.get("batch_state") == BatchState.ACKNOWLEDGED
        return (ItemState.SYNCED if synced else ItemState.APPROVED), total
    if any(f.get("severity") == Severity.ERROR for f in open_) or counted:
        return ItemState.ATTENTION, total
    if item["closed_at"]:
        return ItemState.CLOSED, total
    return (ItemState.SCANNING if item["scanned"] else ItemState.WAITING), total
