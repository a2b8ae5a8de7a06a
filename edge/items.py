"""What the operator does to items and pages after scanning: close, replace.

Closing an item compares its declared pages with the pages scanned (多扫 /
漏扫) and stores the findings with the item; the item travels again in the
next batch. Replacing a page arms a one-shot target: the next page scanned
takes the replaced page's item, number and side (edge.ingest.route/record), so
every other page keeps its number.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.ingest.qc import count_findings
from juanzong.edge.intake import load_item
from juanzong.edge.repo import items, pages, state, write_tx
from juanzong.edge.repo.state import StateKey
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.audit import Action


def close_item(db: Database, appliance_id: str, item_id: str, actor: str = "operator") -> dict:
    item = load_item(db, item_id)
    with write_tx(db):
        scanned = pages.scanned_count(db, item_id)
        findings = [f.to_dict() for f in count_findings(item["declared_pages"], scanned)]
        items.close(db, item_id, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    json.dumps(findings, ensure_ascii=False))
        audit.record(db, place=appliance_id, actor=actor, action=Action.CLOSE_ITEM, target=item_id,
                     declared=item["declared_pages"], scanned=scanned, findings=[f["code"] for f in findings])
    return {"item_id": item_id, "declared_pages": item["declared_pages"], "scanned_pages": scanned, "findings": findings}


def arm_replacement(db: Database, appliance_id: str, page_id: str, actor: str = "operator") -> dict:
    found = pages.item_page(db, page_id)
    if found is None or found[2] is None:
        raise AppError(ErrorCode.PAGE_NOT_FOUND, page_id=page_id)
    item_id, _side, page_no = found
    with write_tx(db):
        state.put(db, StateKey.REPLACE_TARGET, page_id)
        audit.record(db, place=appliance_id, actor=actor, action=Action.QC_OVERRIDE, target=page_id, what="replace", page_no=page_no)
    return {"replace": page_id, "item_id": item_id, "page_no": page_no}
