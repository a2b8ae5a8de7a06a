"""One line per scanner file for the person watching `edge run` (and the journal).

`scan_0003.jpg → （2026）京0102民初1234号 第1件 起诉状：第 3 页`, or where it went
instead — the unassigned queue, a cover sheet, another appliance's cover sheet,
a blank back that does not count — or `已隔离` with the Chinese reason. Long
files report progress every `PROGRESS_EVERY` pages while they are processed.
"""

from __future__ import annotations

import logging

from sqlite_utils import Database

from juanzong.edge.ingest.context import PageRole, QcCode
from juanzong.edge.repo import items, pages
from juanzong.shared.ids import format_id

log = logging.getLogger("juanzong.ingest")
PROGRESS_EVERY = 10


def stored(db: Database, source_name: str, page_ids: list[str]) -> str:
    rows = pages.brief(db, page_ids)
    parts = [_where(db, group) for group in _by_item(rows)]
    return f"{source_name} → " + "；".join(parts)


def quarantined(source_name: str, reason: str) -> str:
    return f"{source_name} 已隔离：{reason}"


def progress(source_name: str, done: int) -> None:
    if done % PROGRESS_EVERY == 0:
        log.info("%s：已处理 %d 页", source_name, done)


def _by_item(rows: list[dict]) -> list[list[dict]]:
    groups: list[list[dict]] = []
    for row in rows:
        if groups and groups[-1][0]["item_id"] == row["item_id"] and groups[-1][0]["role"] == row["role"]:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _where(db: Database, group: list[dict]) -> str:
    first, role = group[0], group[0]["role"]
    if role == PageRole.COVER_UNKNOWN:
        return f"外来封面页（{_foreign(first)}，不是本设备的材料），其后页面进入未归属队列"
    if first["item_id"] is None:
        held = "（所属材料已结束扫描）" if '"item_closed"' in (first["findings"] or "") else ""
        return f"未归属队列 {len(group)} 页{held}"
    item = _item(db, first["item_id"])
    if role == PageRole.COVER:
        return f"封面页：{item}"
    numbers = [r["page_no"] for r in group if r["page_no"]]
    if not numbers:
        return f"{item}：{ {PageRole.BLANK_DROPPED: '空白背面，不计页数', PageRole.COVER_BACK: '封面页背面'}.get(role, role) }"
    span = f"第 {numbers[0]} 页" if len(numbers) == 1 else f"第 {numbers[0]}–{numbers[-1]} 页"
    replaced = "（重扫替换）" if any(r["replaces"] for r in group) else ""
    return f"{item}：{span}{replaced}"


def _item(db: Database, item_id: str) -> str:
    row = items.with_intake(db, item_id)
    if row is None:
        return format_id(item_id)
    return f"{row['case_number']} 第{row['seq']}件 {row['name']}"


def _foreign(row: dict) -> str:
    import json

    named = next((f.get("value") for f in json.loads(row["findings"] or "[]") if f.get("code") == QcCode.COVER_FOREIGN), "")
    return format_id(named) if named else "未知材料"
