"""The counter's handover (收取) on top of edge.intake: who handed it in, and what a clerk sees.

`edge.intake.register` owns the rules (case number, 涉密 refusal, catalog, deadline) and the
transaction; this module adds what the kiosk collects around it, stored in the same
transaction: the submitter's role, ID number and phone (sealed by `edge.vault`, shown
masked), the urgency reason and a note. A handover for a case not yet filed (待立案) gets a
temporary number that `link_case` later replaces with the real case number (audited; the
intake travels to central again).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import img2pdf
from sqlite_utils import Database

from juanzong.edge import audit, intake
from juanzong.edge.config import EdgeSettings
from juanzong.edge.devices.printer import PrintDocument, TextLine
from juanzong.edge.repo import counter as repo
from juanzong.edge.repo import write_tx
from juanzong.edge.vault import Purpose, Vault, mask_id_number, mask_phone
from juanzong.shared.audit import Action
from juanzong.shared.caseno import parse_case_number
from juanzong.shared.catalog import catalog_for
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import make_payload

if TYPE_CHECKING:
    from juanzong.edge.coversheet import CoverSheetInfo


class SubmitterRole(StrEnum):
    PARTY = "party"
    AGENT = "agent"
    JUDGE_TEAM = "judge_team"
    OTHER = "other"


SUBMITTER_ROLES: dict[str, str] = {
    SubmitterRole.PARTY: "当事人",
    SubmitterRole.AGENT: "代理人",
    SubmitterRole.JUDGE_TEAM: "法官团队",
    SubmitterRole.OTHER: "其他",
}


@dataclass(frozen=True)
class Submitter:
    name: str
    role: SubmitterRole
    id_number: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Handover:
    case_text: str
    submitter: Submitter
    items: tuple[intake.ItemSpec, ...]
    pending: bool = False
    urgent: bool = False
    urgent_reason: str = ""
    classified: bool = False
    note: str = ""


def register(
    db: Database,
    settings: EdgeSettings,
    vault: Vault,
    handover: Handover,
    *,
    received_at: datetime,
    clerk: str,
    now: datetime | None = None,
) -> intake.Intake:
    if handover.urgent and not handover.urgent_reason:
        raise AppError(ErrorCode.URGENT_REASON_REQUIRED)

    def details(tx: Database, registered: intake.Intake) -> None:
        sub = handover.submitter
        temporary = registered.case.canonical if handover.pending else None
        repo.insert_details(
            tx,
            registered.intake_id,
            str(sub.role),
            vault.seal_text(Purpose.ID_NUMBER, registered.intake_id, sub.id_number),
            vault.seal_text(Purpose.PHONE, registered.intake_id, sub.phone),
            handover.urgent_reason,
            handover.note,
            temporary,
        )

    return intake.register(
        db,
        settings,
        case_text=handover.case_text,
        submitter=handover.submitter.name,
        items=list(handover.items),
        received_at=received_at,
        urgent=handover.urgent,
        classified=handover.classified,
        clerk=clerk,
        pending=handover.pending,
        on_insert=details,
        now=now or received_at,
    )


@dataclass(frozen=True)
class IntakeView:
    """An intake as the clerk sees it: personal data masked, deadline with its basis."""

    id: str
    case_number: str
    pending: bool
    linked: bool
    submitter: str
    submitter_role: str
    id_number_masked: str
    phone_masked: str
    received_at: str
    deadline: str
    provisional: bool
    urgent: bool
    urgent_reason: str
    note: str
    clerk: str
    items: list[dict[str, Any]] = field(default_factory=list)


def view(db: Database, vault: Vault, intake_id: str) -> IntakeView:
    row = repo.intake(db, intake_id)
    if row is None:
        raise AppError(ErrorCode.INTAKE_NOT_FOUND, intake_id=intake_id)
    case = json.loads(row["case_json"])
    return IntakeView(
        id=row["id"],
        case_number=row["case_number"],
        pending=bool(case.get("pending")),
        linked=row.get("linked_at") is not None,
        submitter=row["submitter"],
        submitter_role=SUBMITTER_ROLES.get(row.get("submitter_role") or "", "—"),
        id_number_masked=mask_id_number(vault.open_text(Purpose.ID_NUMBER, intake_id, row.get("id_number"))),
        phone_masked=mask_phone(vault.open_text(Purpose.PHONE, intake_id, row.get("phone"))),
        received_at=row["received_at"],
        deadline=row["deadline"],
        provisional=bool(row.get("deadline_provisional")),
        urgent=bool(row["urgent"]),
        urgent_reason=row.get("urgent_reason") or "",
        note=row.get("note") or "",
        clerk=row.get("clerk_name") or row["clerk"],
        items=repo.items_of(db, intake_id),
    )


def link_case(db: Database, settings: EdgeSettings, intake_id: str, case_text: str, actor: str, now: datetime) -> str:
    """Replace a 待立案 temporary number with the real case number; fill uncatalogued items."""
    case = parse_case_number(case_text)
    with write_tx(db):
        row = repo.intake(db, intake_id)
        if row is None:
            raise AppError(ErrorCode.INTAKE_NOT_FOUND, intake_id=intake_id)
        if not json.loads(row["case_json"]).get("pending"):
            raise AppError(ErrorCode.CASE_ALREADY_LINKED, intake_id=intake_id, case_number=row["case_number"])
        repo.relink_case(
            db,
            intake_id,
            case.canonical,
            json.dumps({**case.to_dict(), "temporary": row["case_number"]}, ensure_ascii=False),
            now.isoformat(),
        )
        _catalogue_items(db, case, intake_id)
        audit.record(
            db,
            place=settings.appliance_id,
            actor=actor,
            action=Action.CASE_LINK,
            target=intake_id,
            temporary=row["case_number"],
            case_number=case.canonical,
        )
    return case.canonical


def _catalogue_items(db: Database, case: Any, intake_id: str) -> None:
    try:
        catalog = catalog_for(case.type_code, court=case.court)
    except AppError:
        return
    for item in repo.items_of(db, intake_id):
        if not item["catalog_dir"]:
            entry = catalog.suggest(item["name"])
            if item["volume"] == "internal" and entry.volume != "internal" and catalog.internal:
                entry = catalog.internal[-1]
            repo.set_item_catalog(db, item["id"], entry.name)


# ---- cover sheets: A4 PDF for the office printer, thermal label for the receipt printer


def _cover_info(v: IntakeView, item: dict[str, Any]) -> CoverSheetInfo:
    from juanzong.edge.coversheet import CoverSheetInfo  # drawn with numpy: loaded when a sheet is drawn

    return CoverSheetInfo(
        item_id=item["id"],
        intake_id=v.id,
        case_number=v.case_number,
        item_name=item["name"],
        declared_pages=item["declared_pages"],
        volume=item["volume"],
        catalog_dir=item["catalog_dir"],
        item_seq=item["seq"],
        item_count=len(v.items),
    )


def covers_pdf(v: IntakeView) -> bytes:
    """One A4 page per item, 300 dpi, lossless (PNG inside the PDF)."""
    from juanzong.edge.coversheet import render_cover_sheet

    pages = []
    for item in v.items:
        buf = io.BytesIO()
        render_cover_sheet(_cover_info(v, item)).save(buf, "PNG", dpi=(300, 300))
        pages.append(buf.getvalue())
    return img2pdf.convert(pages, layout_fun=img2pdf.get_layout_fun((img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297))))


def cover_label(v: IntakeView, item: dict[str, Any]) -> PrintDocument:
    volume = "副卷" if item["volume"] == "internal" else "正卷"
    lines = (
        TextLine("卷宗材料分隔标签", "title"),
        TextLine(f"案号：{v.case_number}", "strong"),
        TextLine(f"材料：{item['name']}"),
        TextLine(f"第 {item['seq']} 件 / 共 {len(v.items)} 件　{volume}"),
        TextLine(f"申报页数：{item['declared_pages']} 页"),
        TextLine("请贴于该材料第一页之前一并扫描"),
    )
    return PrintDocument(lines, make_payload(item["id"]))
