"""The Excel catalogue (DA/T 18 著录): one row per item, identifiers and numbers as text cells.

Columns are the 著录 fields that apply to a litigation dossier item: 题名, 责任者,
日期, 页数, 页号, 档号 (empty until the archive assigns one), 案号, 正副卷, 目录,
备注, then our ids. Ids and numbers are stored as text (number format "@") so
Excel never turns a case number into a date or drops a leading zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from juanzong.central.export.model import CaseDossier
from juanzong.shared import crypto
from juanzong.shared.durable import ensure_dir, write_durable

HEADERS = ("序号", "题名", "责任者", "日期", "页数", "页号", "档号", "案号", "正副卷", "目录", "备注", "材料编号", "收取编号")
TEXT_COLUMNS = {"页号", "档号", "案号", "材料编号", "收取编号", "日期"}
WIDTHS = {"题名": 28, "案号": 26, "目录": 24, "备注": 20, "责任者": 12, "材料编号": 14, "收取编号": 14}


@dataclass(frozen=True)
class ExcelExport:
    out: str
    rows: int
    sha256: str

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def catalogue_rows(dossiers: list[CaseDossier]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for dossier in dossiers:
        for volume in dossier.volumes:
            for item in volume.items:
                first_last = item.page_range
                page_range = f"{first_last[0]}-{first_last[1]}" if first_last else ""
                note = "" if len(item.pages) == item.declared_pages else f"申报 {item.declared_pages} 页，实收 {len(item.pages)} 页"
                rows.append(
                    (
                        len(rows) + 1,
                        item.name,
                        item.submitter,
                        item.received_at[:10],
                        len(item.pages),
                        page_range,
                        "",
                        dossier.case_number,
                        volume.name,
                        item.catalog_dir,
                        note,
                        item.item_id,
                        item.intake_id,
                    )
                )
    return rows


def export_excel(dossiers: list[CaseDossier], out: Path) -> ExcelExport:
    wb = Workbook()
    ws = wb.active
    if not isinstance(ws, Worksheet):  # a new workbook's one sheet is a worksheet, never a chart sheet
        raise TypeError(f"unexpected first sheet {ws!r}")
    ws.title = "卷内目录"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    rows = catalogue_rows(dossiers)
    for row in rows:
        ws.append(row)
    for col, header in enumerate(HEADERS, start=1):
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = WIDTHS.get(header, 10)
        if header in TEXT_COLUMNS:
            for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                cell.number_format = "@"
                cell.value = "" if cell.value is None else str(cell.value)
    ws.freeze_panes = "A2"
    buf = BytesIO()
    wb.save(buf)
    ensure_dir(out.parent)
    write_durable(out, buf.getvalue(), mode=0o600)
    return ExcelExport(str(out), len(rows), crypto.sha256_hex(buf.getvalue()))
