"""The custody register (诉讼材料提交移交借阅退还清单): every movement of the paper, signed.

An event says which items (and how many pages) went from whom to whom, when, why, and for a
return in what condition; both sides sign on the touch screen (or confirm by typing their
name where no pad is available). Signatures are sealed by `edge.vault` and never shown;
the register prints per case as a PDF. A borrow stays open until a return names it, and is
overdue once its due time has passed (the dashboard lists those).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.config import EdgeSettings
from juanzong.edge.repo import custody as repo
from juanzong.edge.repo import write_tx
from juanzong.edge.vault import Purpose, Vault
from juanzong.shared.audit import Action
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id


class EventKind(StrEnum):
    SUBMIT = "submit"
    TRANSFER = "transfer"
    BORROW = "borrow"
    RETURN = "return"


KIND_NAMES = {EventKind.SUBMIT: "提交", EventKind.TRANSFER: "移交", EventKind.BORROW: "借阅", EventKind.RETURN: "归还/退还"}


class Condition(StrEnum):
    COMPLETE = "complete"
    PAGES_MISSING = "pages_missing"
    ALTERED = "altered"
    STAINED = "stained"


CONDITION_NAMES: dict[str, str] = {
    Condition.COMPLETE: "完整",
    Condition.PAGES_MISSING: "缺页",
    Condition.ALTERED: "有改动",
    Condition.STAINED: "污损",
}


@dataclass(frozen=True)
class Signature:
    method: str  # "drawn" (PNG from the touch screen) | "typed" (name confirmed by typing)
    data: bytes


@dataclass(frozen=True)
class Movement:
    kind: EventKind
    case_number: str
    from_party: str
    to_party: str
    items: tuple[tuple[str, int], ...]  # (item id, pages)
    from_signature: Signature
    to_signature: Signature
    purpose: str = ""
    due_back: datetime | None = None
    loan_id: str | None = None
    condition: Condition | None = None
    note: str = ""


def store_signature(db: Database, vault: Vault, signature: Signature, role: str, at: datetime) -> str:
    """Seal a signature into its own row (inside the caller's transaction); returns its id."""
    signature_id = new_id(Kind.SIGNATURE)
    sealed = vault.seal(Purpose.SIGNATURE, signature_id, json.dumps({"method": signature.method}).encode() + b"\n" + signature.data)
    repo.insert_signature(db, signature_id, signature.method, role, sealed, at.isoformat())
    return signature_id


def open_signature(db: Database, vault: Vault, signature_id: str) -> Signature:
    row = repo.signature(db, signature_id)
    if row is None:
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=signature_id)
    head, _, data = vault.open(Purpose.SIGNATURE, signature_id, row[1]).partition(b"\n")
    return Signature(json.loads(head)["method"], data)


def record(db: Database, settings: EdgeSettings, vault: Vault, move: Movement, *, at: datetime, clerk: str) -> str:
    _check(move)
    event_id = new_id(Kind.CUSTODY)
    with write_tx(db):
        if move.kind is EventKind.RETURN and move.loan_id:
            _check_open_loan(db, move.loan_id)
        row = {
            "id": event_id,
            "case_number": move.case_number,
            "kind": str(move.kind),
            "at": at.isoformat(),
            "from_party": move.from_party,
            "to_party": move.to_party,
            "from_signature": store_signature(db, vault, move.from_signature, "from", at),
            "to_signature": store_signature(db, vault, move.to_signature, "to", at),
            "purpose": move.purpose,
            "due_back": move.due_back.isoformat() if move.due_back else None,
            "loan_id": move.loan_id,
            "condition": str(move.condition) if move.condition else None,
            "note": move.note,
            "clerk": clerk,
        }
        repo.insert_event(db, row, list(move.items))
        audit.record(
            db,
            place=settings.appliance_id,
            actor=clerk,
            action=Action.CUSTODY,
            target=event_id,
            kind=str(move.kind),
            case_number=move.case_number,
            items=len(move.items),
            pages=sum(p for _, p in move.items),
            loan=move.loan_id,
            condition=str(move.condition) if move.condition else None,
            signatures=[move.from_signature.method, move.to_signature.method],
        )
    return event_id


def _check(move: Movement) -> None:
    if not move.items:
        raise AppError(ErrorCode.CUSTODY_ITEMS_REQUIRED)
    if move.kind is EventKind.BORROW and move.due_back is None:
        raise AppError(ErrorCode.FIELD_REQUIRED, field="应还时间")
    if move.kind is EventKind.RETURN and move.condition is None:
        raise AppError(ErrorCode.FIELD_REQUIRED, field="归还时材料状况")
    if move.condition not in (None, Condition.COMPLETE) and not move.note:
        raise AppError(ErrorCode.FIELD_REQUIRED, field="状况说明（缺页、改动或污损时必填）")


def _check_open_loan(db: Database, loan_id: str) -> dict[str, Any]:
    loan = repo.event(db, loan_id)
    if loan is None or loan["kind"] != EventKind.BORROW or repo.returned(db, loan_id):
        raise AppError(ErrorCode.LOAN_NOT_FOUND, loan_id=loan_id)
    return loan


def loan(db: Database, loan_id: str) -> dict[str, Any]:
    found = _check_open_loan(db, loan_id)
    return {**found, "items": repo.items_of_event(db, loan_id)}


def overdue_loans(db: Database, now: datetime) -> list[dict[str, Any]]:
    return repo.overdue_loans(db, now.isoformat())


def open_loans(db: Database, case_number: str | None = None) -> list[dict[str, Any]]:
    return repo.open_loans(db, case_number)


def register_of(db: Database, case_number: str) -> list[dict[str, Any]]:
    return [{**e, "items": repo.items_of_event(db, e["id"])} for e in repo.events_of_case(db, case_number)]


# ---- the printable register


def register_pdf(db: Database, vault: Vault, case_number: str, court: str, printed_at: datetime) -> bytes:
    """A4 landscape: one row per event with items, pages, both parties and their signatures."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _pdf_font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=1)
    head = ["时间", "类型", "材料（页数）", "交出方", "接收方", "用途/应还", "状况", "交出方签名", "接收方签名", "经办人"]
    rows: list[list[Any]] = [[Paragraph(h, body) for h in head]]
    for e in register_of(db, case_number):
        items = "；".join(f"{i['name']}（{i['pages']}页）" for i in e["items"])
        extra = e["purpose"] + (f" 应还 {e['due_back'][:16].replace('T', ' ')}" if e["due_back"] else "")
        cond = CONDITION_NAMES.get(e["condition"] or "", "") + (f"：{e['note']}" if e["note"] else "")
        rows.append(
            [
                Paragraph(x, body)
                for x in (
                    e["at"][:16].replace("T", " "),
                    KIND_NAMES[EventKind(e["kind"])],
                    items,
                    e["from_party"],
                    e["to_party"],
                    extra,
                    cond,
                )
            ]
            + [_sig_cell(db, vault, e[k], body) for k in ("from_signature", "to_signature")]
            + [Paragraph(e["clerk"], body)]
        )
    widths = [26 * mm, 16 * mm, 62 * mm, 24 * mm, 24 * mm, 30 * mm, 30 * mm, 30 * mm, 30 * mm, 18 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
            ]
        )
    )
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"诉讼材料提交移交借阅退还清单 {case_number}",
    )
    story = [
        Paragraph("诉讼材料提交移交借阅退还清单", title),
        Paragraph(f"{court}　案号：{case_number}　打印时间：{printed_at.strftime('%Y-%m-%d %H:%M')}", body),
        Spacer(1, 4 * mm),
        table,
    ]
    doc.build(story)
    return buf.getvalue()


def _sig_cell(db: Database, vault: Vault, signature_id: str, style: Any) -> Any:
    from reportlab.lib.units import mm
    from reportlab.platypus import Image as RLImage
    from reportlab.platypus import Paragraph

    sig = open_signature(db, vault, signature_id)
    if sig.method == "typed":
        return Paragraph(f"（输入姓名确认）{sig.data.decode('utf-8')}", style)
    from PIL import Image

    with Image.open(io.BytesIO(sig.data)) as im:
        ratio = im.height / max(1, im.width)
    return RLImage(io.BytesIO(sig.data), width=28 * mm, height=min(14 * mm, 28 * mm * ratio))


def _pdf_font() -> str:
    from juanzong.shared.fonts import pdf_font

    return pdf_font()
