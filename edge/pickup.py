"""来院领取: served documents collected at the counter, with a signed 送达回证.

A judge's team registers what is to be collected (case, addressee, documents and copies).
At the counter the clerk checks the addressee's identity, the addressee signs on the touch
screen (or confirms by typing their name), and in one transaction the signature (sealed)
and the hand-over are recorded. The signed 送达回证 is then rendered as an A4 page and
filed as a page of the case (an intake with one item 送达回证, its page stored through
`edge.generated`: QC, encrypt, record — and so batched and synced like a scan), and the
slip is printed on the receipt printer. Filing is idempotent: `file_receipt` finishes
whatever an interrupted hand-over left undone.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from PIL import Image, ImageDraw
from sqlite_utils import Database

from juanzong.edge import audit, intake, printing
from juanzong.edge.config import EdgeSettings
from juanzong.edge.custody import Signature, open_signature, store_signature
from juanzong.edge.devices.printer import PrintDocument, TextLine
from juanzong.edge.repo import pickups as repo
from juanzong.edge.repo import write_tx
from juanzong.edge.vault import Purpose, Vault, mask_id_number
from juanzong.shared.audit import Action
from juanzong.shared.caseno import parse_case_number
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.fonts import pillow_font
from juanzong.shared.ids import Kind, format_id, make_payload, new_id

RECEIPT_ITEM = "送达回证"


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"
    LAWYER = "lawyer"
    WORK_ID = "work_id"
    OTHER = "other"


ID_TYPES = {IdType.RESIDENT_ID: "居民身份证", IdType.LAWYER: "律师执业证", IdType.WORK_ID: "工作证", IdType.OTHER: "其他证件"}


@dataclass(frozen=True)
class Document:
    name: str
    copies: int


def register(
    db: Database, settings: EdgeSettings, *, case_text: str, addressee: str, documents: list[Document], registered_by: str, at: datetime
) -> str:
    case = parse_case_number(case_text)
    if not documents:
        raise AppError(ErrorCode.FIELD_REQUIRED, field="文书（至少一项）")
    pickup_id = new_id(Kind.PICKUP)
    docs = json.dumps([{"name": d.name, "copies": d.copies} for d in documents], ensure_ascii=False)
    with write_tx(db):
        repo.insert(db, pickup_id, case.canonical, addressee, docs, registered_by, at.isoformat())
        audit.record(
            db,
            place=settings.appliance_id,
            actor=registered_by,
            action=Action.PICKUP_REGISTER,
            target=pickup_id,
            case_number=case.canonical,
            documents=len(documents),
        )
    return pickup_id


def get(db: Database, pickup_id: str) -> dict[str, Any]:
    row = repo.get(db, pickup_id)
    if row is None:
        raise AppError(ErrorCode.PICKUP_NOT_FOUND, pickup_id=format_id(pickup_id))
    return {**row, "documents": json.loads(row["documents"])}


def waiting(db: Database) -> list[dict[str, Any]]:
    return [{**r, "documents": json.loads(r["documents"])} for r in repo.waiting(db)]


def hand_over(
    db: Database,
    settings: EdgeSettings,
    vault: Vault,
    pickup_id: str,
    *,
    id_type: IdType,
    id_number: str,
    signature: Signature,
    clerk: str,
    clerk_name: str,
    at: datetime,
) -> dict[str, Any]:
    with write_tx(db):
        row = get(db, pickup_id)
        if row["handed_at"]:
            raise AppError(ErrorCode.PICKUP_ALREADY_HANDED, pickup_id=format_id(pickup_id), at=row["handed_at"][:16].replace("T", " "))
        sig_id = store_signature(db, vault, signature, "addressee", at)
        repo.mark_handed(
            db, pickup_id, at.isoformat(), clerk, str(id_type), vault.seal_text(Purpose.ID_NUMBER, pickup_id, id_number), sig_id
        )
        audit.record(
            db,
            place=settings.appliance_id,
            actor=clerk,
            action=Action.PICKUP_HANDOVER,
            target=pickup_id,
            case_number=row["case_number"],
            id_checked=str(id_type),
            signature=signature.method,
        )
    return file_receipt(db, settings, vault, pickup_id, clerk=clerk, clerk_name=clerk_name)


def file_receipt(db: Database, settings: EdgeSettings, vault: Vault, pickup_id: str, *, clerk: str, clerk_name: str) -> dict[str, Any]:
    """Make the signed 送达回证 a page of the case and print the slip (each step once)."""
    row = get(db, pickup_id)
    signature = open_signature(db, vault, row["signature"])
    id_number = mask_id_number(vault.open_text(Purpose.ID_NUMBER, pickup_id, row["id_number"]))
    handed = datetime.fromisoformat(row["handed_at"])
    if not row["intake_id"]:
        registered = intake.register(
            db,
            settings,
            case_text=row["case_number"],
            submitter=row["addressee"],
            items=[intake.ItemSpec(RECEIPT_ITEM, 1, colour=False)],
            received_at=handed,
            clerk=clerk,
            now=handed,
        )
        with write_tx(db):
            repo.set_filed(db, pickup_id, registered.intake_id, None)
        row = get(db, pickup_id)
    if not row["page_id"]:
        item_id = repo.first_item_of(db, row["intake_id"])
        page = receipt_page(settings.court, row, signature, id_number, clerk_name)
        from juanzong.edge.generated import store_page  # the page stages (numpy): loaded when a page is filed

        page_id = store_page(db, settings, item_id, page, f"{RECEIPT_ITEM}-{pickup_id}.jpg")
        with write_tx(db):
            repo.set_filed(db, pickup_id, None, page_id)
        job = printing.queue(
            db,
            settings,
            printing.JobKind.SERVICE,
            row["intake_id"],
            service_slip(settings.court, row, signature, clerk_name),
            target=pickup_id,
            actor=clerk,
            vault=vault,
        )
        return {"intake_id": row["intake_id"], "page_id": page_id, "job_id": job}
    return {"intake_id": row["intake_id"], "page_id": row["page_id"], "job_id": None}


# ---- the 送达回证: an A4 page for the dossier, a slip for the addressee


def _lines(court: str, row: dict[str, Any], clerk_name: str) -> list[str]:
    docs = "；".join(f"{d['name']} {d['copies']} 份" for d in row["documents"])
    return [
        f"案号：{row['case_number']}",
        f"受送达人：{row['addressee']}",
        f"送达文书：{docs}",
        "送达方式：来院领取（直接送达）",
        f"送达时间：{row['handed_at'][:16].replace('T', ' ')}",
        f"送达人（经办人）：{clerk_name}",
    ]


def receipt_page(court: str, row: dict[str, Any], signature: Signature, id_number: str, clerk_name: str) -> Image.Image:
    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    draw.text((1240, 260), court or "人民法院", font=pillow_font(96), fill=0, anchor="mt")
    draw.text((1240, 420), "送 达 回 证", font=pillow_font(150), fill=0, anchor="mt")
    y, font = 760, pillow_font(80)
    id_line = f"身份核验：{ID_TYPES.get(row['id_checked'], row['id_checked'])}" + (f" {id_number}" if id_number else "")
    for text in _lines(court, row, clerk_name) + [id_line]:
        for part in _wrap(text, font, 2480 - 600):
            draw.text((300, y), part, font=font, fill=0)
            y += 120
    y += 80
    draw.text((300, y), "受送达人签名：", font=font, fill=0)
    _signature_into(page, signature, (900, y - 40, 2180, y + 360))
    draw.line((900, y + 380, 2180, y + 380), fill=0, width=4)
    draw.text((300, y + 520), f"回证编号：{format_id(row['id'])}", font=pillow_font(56), fill=0)
    return page


def _wrap(text: str, font: Any, width: int) -> list[str]:
    lines, current = [], ""
    for ch in text:
        if current and font.getlength(current + ch) > width:
            lines.append(current)
            current = "　　" + ch
        else:
            current += ch
    return lines + [current]


def _signature_into(page: Image.Image, signature: Signature, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    if signature.method == "typed":
        ImageDraw.Draw(page).text((x0, y0 + 120), f"{signature.data.decode('utf-8')}（输入姓名确认）", font=pillow_font(80), fill=0)
        return
    with Image.open(io.BytesIO(signature.data)) as im:
        rgba = im.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    ink = flat.convert("L")
    ink.thumbnail((x1 - x0, y1 - y0))
    page.paste(ink, (x0, y0))


def service_slip(court: str, row: dict[str, Any], signature: Signature, clerk_name: str) -> PrintDocument:
    lines = [TextLine("送达回证", "title")] + ([TextLine(court)] if court else []) + [TextLine("", "rule")]
    lines += [TextLine(t) for t in _lines(court, row, clerk_name)]
    typed = signature.data.decode("utf-8") if signature.method == "typed" else ""
    lines += [TextLine("", "rule"), TextLine(f"受送达人签名：{typed}" + ("（输入姓名确认）" if typed else ""))]
    picture = signature.data if signature.method == "drawn" else None
    return PrintDocument(tuple(lines), make_payload(row["id"]), picture)
