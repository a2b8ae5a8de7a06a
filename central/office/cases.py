"""Finding a case and reading its dossier: search by 案号 (any bracket form), 收取编号, submitter, dates, point."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from juanzong.central import db
from juanzong.central.export.model import CaseDossier, ItemEntry, load_dossiers
from juanzong.central.office.formatting import zh_datetime
from juanzong.central.repository import Repository
from juanzong.shared.caseno import parse_case_number
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import is_valid_id, normalise_id

MAX_RESULTS = 200


@dataclass(frozen=True)
class CaseHit:
    case_number: str
    intakes: int
    submitters: str
    first_received: str
    last_received: str
    points: str


def search(repo: Repository, *, q: str = "", submitter: str = "", date_from: str = "", date_to: str = "", point: str = "") -> list[CaseHit]:
    t = db.intakes
    query = select(
        t.c.case_number, func.count().label("n"), func.min(t.c.received_at).label("first"), func.max(t.c.received_at).label("last")
    ).group_by(t.c.case_number)
    query = query.where(*_conditions(q, submitter, date_from, date_to, point)).order_by(func.max(t.c.received_at).desc())
    with repo.engine.connect() as conn:
        rows = conn.execute(query.limit(MAX_RESULTS)).all()
        extra = _who_and_where(conn, [r.case_number for r in rows])
    hits = []
    for r in rows:
        who, where = extra.get(r.case_number, ("", ""))
        hits.append(CaseHit(r.case_number, r.n, who, r.first, r.last, where))
    return hits


def _conditions(q: str, submitter: str, date_from: str, date_to: str, point: str) -> list[Any]:
    t = db.intakes
    out: list[Any] = []
    if q:
        out.append(_case_or_receipt(q))
    if submitter:
        out.append(t.c.submitter.contains(submitter, autoescape=True))
    if date_from:
        out.append(t.c.received_at >= date_from)
    if date_to:
        out.append(t.c.received_at < f"{date_to}T99")  # the whole day, whatever the offset suffix
    if point:
        out.append(t.c.appliance_id == point)
    return out


def _case_or_receipt(q: str) -> Any:
    t = db.intakes
    if is_valid_id(q):
        return t.c.intake_id == normalise_id(q)  # a receipt number (收取编号) as printed
    try:
        return t.c.case_number == parse_case_number(q).canonical
    except AppError:
        return t.c.case_number.contains(q.strip(), autoescape=True)  # part of a number: 民初1234


def _who_and_where(conn: Any, numbers: list[str]) -> dict[str, tuple[str, str]]:
    t = db.intakes
    if not numbers:
        return {}
    rows = conn.execute(select(t.c.case_number, t.c.submitter, t.c.appliance_id).where(t.c.case_number.in_(numbers))).all()
    out: dict[str, tuple[set[str], set[str]]] = {}
    for number, who, where in rows:
        entry = out.setdefault(number, (set(), set()))
        entry[0].add(who)
        entry[1].add(where)
    return {k: ("、".join(sorted(v[0])), "、".join(sorted(v[1]))) for k, v in out.items()}


@dataclass(frozen=True)
class ItemDetail:
    state: str
    findings: int
    closed: bool
    qc: str = "未批准"  # the QC station's sign-off as the appliance reported it
    qc_note: str = ""  # who approved (and checked), the reason for approving over a difference
    discarded: int = 0  # pages taken out of the numbering at the QC station
    notices: tuple[str, ...] = ()  # filing notices (入卷提醒) received for the item


def case_details(repo: Repository, dossier: CaseDossier) -> dict[str, ItemDetail]:
    """Per item: its QC state as the appliance reported it, for the case page."""
    ids = [i.item_id for i in dossier.items()]
    with repo.engine.connect() as conn:
        records = {
            r.item_id: json.loads(r.record)
            for r in conn.execute(select(db.items.c.item_id, db.items.c.record).where(db.items.c.item_id.in_(ids)))
        }
        flagged: dict[str, int] = dict(
            conn.execute(
                select(db.pages.c.item_id, func.count())
                .where(db.pages.c.item_id.in_(ids), db.pages.c.page_no.is_not(None), ~db.pages.c.record.contains('"findings":[]'))
                .group_by(db.pages.c.item_id)
            ).all()
        )
    notices = repo.notices_by_item(ids)
    out = {}
    for item in dossier.items():
        record = records.get(item.item_id, {})
        qc, note = _qc(record.get("qc") or {})
        out[item.item_id] = ItemDetail(
            _state(item, record),
            int(flagged.get(item.item_id, 0)),
            bool(record.get("closed")),
            qc,
            note,
            int(record.get("discarded_pages", 0)),
            tuple(_notice(n) for n in notices.get(item.item_id, [])),
        )
    return out


def _qc(qc: dict[str, Any]) -> tuple[str, str]:
    if not qc:
        return "未批准", ""
    reason = f"；批准原因：{qc['reason']}" if qc.get("reason") else ""
    if qc.get("two_person") and not qc.get("checked_by"):
        return "待二次质检", f"{qc['approved_by']} 已批准{reason}"
    checked = f"，{qc['checked_by']} 复核" if qc.get("checked_by") else ""
    return "已批准", f"{qc['approved_by']} 批准{checked}{reason}"


def _notice(notice: dict[str, Any]) -> str:
    return f"入卷提醒 {zh_datetime(notice.get('received_at'))} 收到（{notice.get('pages', '?')} 页）"


def _state(item: ItemEntry, record: dict[str, Any]) -> str:
    if not item.pages:
        return "待扫描"
    if len(item.pages) < item.declared_pages:
        return "漏扫" if record.get("closed") else "扫描中"
    if len(item.pages) > item.declared_pages:
        return "多扫"
    return "已齐全"


def item_entry(repo: Repository, item_id: str) -> ItemEntry:
    with repo.engine.connect() as conn:
        case = conn.execute(
            select(db.intakes.c.case_number)
            .select_from(db.items.join(db.intakes, db.intakes.c.intake_id == db.items.c.intake_id))
            .where(db.items.c.item_id == item_id)
        ).scalar()
    if case is None:
        raise AppError(ErrorCode.ITEM_NOT_FOUND, item_id=item_id)
    (dossier,) = load_dossiers(repo, case=case)
    return next(i for i in dossier.items() if i.item_id == item_id)
