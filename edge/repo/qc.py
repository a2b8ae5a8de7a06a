"""SQL for the operator's page actions (edge/items.py: move, assign, discard, rotate, accept, reopen, approve, check).

Every write marks the row unbatched (`batch_id = NULL`) so the change travels with the next batch.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from juanzong.edge.ingest.context import PageRole


def page_row(db: Database, page_id: str) -> dict[str, Any] | None:
    cur = db.execute("SELECT * FROM pages WHERE id = ?", [page_id])
    row = cur.fetchone()
    return None if row is None else dict(zip([c[0] for c in cur.description], row))


def numbered_ids(db: Database, item_id: str) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT id FROM pages WHERE item_id = ? AND role = ? AND page_no IS NOT NULL ORDER BY page_no", [item_id, PageRole.PAGE]
        )
    ]


def page_numbers(db: Database, item_id: str) -> dict[str, int | None]:
    return dict(db.execute("SELECT id, page_no FROM pages WHERE item_id = ? AND role = ?", [item_id, PageRole.PAGE]).fetchall())


def set_page_no(db: Database, page_id: str, page_no: int, *, travels: bool) -> None:
    if travels:
        db.execute("UPDATE pages SET page_no = ?, batch_id = NULL WHERE id = ?", [page_no, page_id])
    else:
        db.execute("UPDATE pages SET page_no = ? WHERE id = ?", [page_no, page_id])


def item_closure(db: Database, item_id: str) -> tuple[str | None, int]:
    row = db.execute("SELECT closed_at, declared_pages FROM items WHERE id = ?", [item_id]).fetchone()
    return row[0], row[1]


def mark_item_changed(db: Database, item_id: str, findings: str | None) -> None:
    db.execute("UPDATE items SET batch_id = NULL, count_findings = COALESCE(?, count_findings) WHERE id = ?", [findings, item_id])


def move_to_item_unnumbered(db: Database, page_id: str, item_id: str) -> None:
    db.execute("UPDATE pages SET item_id = ?, page_no = NULL, batch_id = NULL WHERE id = ?", [item_id, page_id])


def file_into_item(db: Database, page_id: str, item_id: str) -> None:
    db.execute("UPDATE pages SET item_id = ?, batch_id = NULL WHERE id = ?", [item_id, page_id])


def discard(db: Database, page_id: str, reason: str, actor: str) -> None:
    db.execute(
        "UPDATE pages SET role = ?, page_no = NULL, discard_reason = ?, discarded_by = ?, batch_id = NULL WHERE id = ?",
        [PageRole.DISCARDED, reason, actor, page_id],
    )


def set_rotation(db: Database, page_id: str, rotation: int) -> None:
    db.execute("UPDATE pages SET rotation = ?, batch_id = NULL WHERE id = ?", [rotation, page_id])


def set_accepted(db: Database, page_id: str, accepted_json: str) -> None:
    db.execute("UPDATE pages SET accepted = ?, batch_id = NULL WHERE id = ?", [accepted_json, page_id])


def reopen(db: Database, item_id: str) -> None:
    db.execute(
        "UPDATE items SET closed_at = NULL, count_findings = '[]', approved_at = NULL, approved_by = NULL, "
        "approval_reason = '', two_person = 0, checked_at = NULL, checked_by = NULL, batch_id = NULL WHERE id = ?",
        [item_id],
    )


def approve(db: Database, item_id: str, at: str, actor: str, reason: str, two_person: bool) -> None:
    db.execute(
        "UPDATE items SET approved_at = ?, approved_by = ?, approval_reason = ?, two_person = ?, checked_at = NULL, "
        "checked_by = NULL, batch_id = NULL WHERE id = ? AND approved_at IS NULL",
        [at, actor, reason, int(two_person), item_id],
    )


def check(db: Database, item_id: str, at: str, actor: str) -> None:
    db.execute("UPDATE items SET checked_at = ?, checked_by = ?, batch_id = NULL WHERE id = ?", [at, actor, item_id])
