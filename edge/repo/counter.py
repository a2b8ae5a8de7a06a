"""SQL for the counter: handover details, the intakes and items a clerk looks at."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from juanzong.edge.ingest.context import PageRole


def _dicts(db: Database, sql: str, params: list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def insert_details(
    db: Database,
    intake_id: str,
    submitter_role: str,
    id_number: bytes | None,
    phone: bytes | None,
    urgent_reason: str,
    note: str,
    temporary_number: str | None,
) -> None:
    db.execute(
        "INSERT INTO intake_details(intake_id, submitter_role, id_number, phone, urgent_reason, note, temporary_number)"
        " VALUES (?,?,?,?,?,?,?)",
        [intake_id, submitter_role, id_number, phone, urgent_reason, note, temporary_number],
    )


def intake(db: Database, intake_id: str) -> dict[str, Any] | None:
    rows = _dicts(
        db,
        """SELECT t.*, d.submitter_role, d.id_number, d.phone, d.urgent_reason, d.note,
                                d.temporary_number, d.linked_at, o.name AS clerk_name
                         FROM intakes t LEFT JOIN intake_details d ON d.intake_id = t.id
                         LEFT JOIN operators o ON o.id = t.clerk WHERE t.id = ?""",
        [intake_id],
    )
    return rows[0] if rows else None


def items_of(db: Database, intake_id: str) -> list[dict[str, Any]]:
    return _dicts(
        db,
        """SELECT i.*, (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = ?) AS scanned
                         FROM items i WHERE i.intake_id = ? ORDER BY i.seq""",
        [PageRole.PAGE, intake_id],
    )


def intakes_between(db: Database, start: str, end: str) -> list[dict[str, Any]]:
    return _dicts(
        db,
        """SELECT t.id, t.case_number, t.submitter, t.received_at, t.deadline, t.deadline_provisional, t.urgent, t.clerk,
                                (SELECT COUNT(*) FROM items i WHERE i.intake_id = t.id) AS items,
                                (SELECT COALESCE(SUM(i.declared_pages * i.copies), 0) FROM items i WHERE i.intake_id = t.id) AS pages
                         FROM intakes t WHERE t.received_at >= ? AND t.received_at < ? ORDER BY t.received_at DESC""",
        [start, end],
    )


def waiting_items(db: Database) -> list[dict[str, Any]]:
    """Items not closed and not fully scanned, with their intake's deadline, soonest first."""
    return _dicts(
        db,
        """SELECT i.id, i.seq, i.name, i.declared_pages, t.case_number, t.deadline, t.deadline_provisional,
                                t.urgent, t.id AS intake_id,
                                (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = :page) AS scanned
                         FROM items i JOIN intakes t ON t.id = i.intake_id
                         WHERE i.closed_at IS NULL
                           AND (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = :page) < i.declared_pages
                         ORDER BY t.deadline, t.received_at, i.seq""",
        {"page": PageRole.PAGE},
    )


def relink_case(db: Database, intake_id: str, case_number: str, case_json: str, linked_at: str) -> None:
    # batch_id cleared: the intake travels again so central learns the real case number
    db.execute("UPDATE intakes SET case_number = ?, case_json = ?, batch_id = NULL WHERE id = ?", [case_number, case_json, intake_id])
    db.execute("UPDATE intake_details SET linked_at = ? WHERE intake_id = ?", [linked_at, intake_id])


def set_item_catalog(db: Database, item_id: str, catalog_dir: str) -> None:
    db.execute("UPDATE items SET catalog_dir = ?, batch_id = NULL WHERE id = ?", [catalog_dir, item_id])


def items_of_case(db: Database, case_number: str) -> list[dict[str, Any]]:
    return _dicts(
        db,
        """SELECT i.id, i.seq, i.name, i.declared_pages, i.copies, i.volume, t.id AS intake_id, t.received_at
                         FROM items i JOIN intakes t ON t.id = i.intake_id WHERE t.case_number = ?
                         ORDER BY t.received_at, i.seq""",
        [case_number],
    )
