"""SQL for the QC station: the work list, an item's pages, the unassigned queue."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlite_utils import Database

from juanzong.edge.ingest.context import PageRole
from juanzong.edge.repo.batches import BatchState
from juanzong.edge.repo.counter import _dicts

_WORK = """SELECT i.*, t.case_number, t.deadline, t.urgent, t.received_at, t.deadline_provisional, bt.state AS batch_state,
                  (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = :page) AS scanned,
                  (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = :discarded) AS discarded
           FROM items i JOIN intakes t ON t.id = i.intake_id LEFT JOIN batches bt ON bt.id = i.batch_id"""
_ROLES = {"page": PageRole.PAGE, "discarded": PageRole.DISCARDED}


def work_items(db: Database, since: str) -> list[dict[str, Any]]:
    """Items of intakes received since `since` plus every item not yet approved and synced, soonest deadline first."""
    return _dicts(
        db,
        f"""{_WORK}
                          WHERE t.received_at >= :since OR i.approved_at IS NULL OR (i.two_person = 1 AND i.checked_at IS NULL)
                             OR bt.state IS NOT :acknowledged
                          ORDER BY t.urgent DESC, t.deadline, t.received_at, i.seq""",
        {**_ROLES, "since": since, "acknowledged": BatchState.ACKNOWLEDGED},
    )


def work_item(db: Database, item_id: str) -> dict[str, Any] | None:
    rows = _dicts(db, f"{_WORK} WHERE i.id = :item", {**_ROLES, "item": item_id})
    return rows[0] if rows else None


def page_findings(db: Database, item_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """{item_id: [(findings json, accepted json)]} of the numbered pages of these items."""
    if not item_ids:
        return {}
    marks = ",".join("?" * len(item_ids))
    out: dict[str, list[tuple[str, str]]] = {}
    for item_id, findings, accepted in db.execute(
        f"SELECT item_id, findings, accepted FROM pages WHERE role = ? AND item_id IN ({marks})", [PageRole.PAGE, *item_ids]
    ):
        out.setdefault(item_id, []).append((findings, accepted))
    return out


def item_pages(db: Database, item_id: str) -> list[dict[str, Any]]:
    return _dicts(db, "SELECT * FROM pages WHERE item_id = ? AND role = ? ORDER BY page_no", [item_id, PageRole.PAGE])


def discarded_pages(db: Database, item_id: str) -> list[dict[str, Any]]:
    return _dicts(db, "SELECT * FROM pages WHERE item_id = ? AND role = ? ORDER BY scanned_at", [item_id, PageRole.DISCARDED])


def unassigned(db: Database) -> list[dict[str, Any]]:
    return _dicts(db, "SELECT * FROM pages WHERE item_id IS NULL AND role = ? ORDER BY scanned_at, claim", [PageRole.PAGE])


def page(db: Database, page_id: str) -> dict[str, Any] | None:
    rows = _dicts(db, "SELECT p.*, b.wrapped_local FROM pages p JOIN blobs b ON b.id = p.blob_id WHERE p.id = ?", [page_id])
    return rows[0] if rows else None


def pages_version(db: Database, item_id: str) -> str:
    """Changes whenever a page of the item is added, moved, turned, discarded or accepted."""
    rows = db.execute("SELECT * FROM pages WHERE item_id = ? ORDER BY id", [item_id]).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def other_items(db: Database, item_id: str) -> list[dict[str, Any]]:
    """Items a page may be moved to: the same case's items first, then everything not approved."""
    return _dicts(
        db,
        """SELECT i.id, i.seq, i.name, t.case_number, i.intake_id = (SELECT intake_id FROM items WHERE id = :i) AS same
                         FROM items i JOIN intakes t ON t.id = i.intake_id
                         WHERE i.id != :i AND i.approved_at IS NULL
                         ORDER BY same DESC, t.received_at DESC, i.seq LIMIT 200""",
        {"i": item_id},
    )


def open_items(db: Database) -> list[dict[str, Any]]:
    return _dicts(
        db,
        """SELECT i.id, i.seq, i.name, t.case_number FROM items i JOIN intakes t ON t.id = i.intake_id
                         WHERE i.approved_at IS NULL ORDER BY t.received_at DESC, i.seq LIMIT 200""",
        [],
    )
