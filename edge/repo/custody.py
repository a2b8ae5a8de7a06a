"""SQL for the custody register and the signatures (m004_counter)."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from juanzong.edge.repo.counter import _dicts


def insert_signature(db: Database, signature_id: str, method: str, role: str, sealed: bytes, at: str) -> None:
    db.execute(
        "INSERT INTO signatures(id, method, signer, sealed, created_at) VALUES (?,?,?,?,?)", [signature_id, method, role, sealed, at]
    )


def signature(db: Database, signature_id: str) -> tuple[str, bytes] | None:
    return db.execute("SELECT method, sealed FROM signatures WHERE id = ?", [signature_id]).fetchone()


def insert_event(db: Database, row: dict[str, Any], items: list[tuple[str, int]]) -> None:
    cols = ", ".join(row)
    db.execute(f"INSERT INTO custody_events({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    for item_id, pages in items:
        db.execute("INSERT INTO custody_items(event_id, item_id, pages) VALUES (?,?,?)", [row["id"], item_id, pages])


def event(db: Database, event_id: str) -> dict[str, Any] | None:
    rows = _dicts(db, "SELECT * FROM custody_events WHERE id = ?", [event_id])
    return rows[0] if rows else None


def events_of_case(db: Database, case_number: str) -> list[dict[str, Any]]:
    return _dicts(db, "SELECT * FROM custody_events WHERE case_number = ? ORDER BY at, rowid", [case_number])


def items_of_event(db: Database, event_id: str) -> list[dict[str, Any]]:
    return _dicts(
        db,
        """SELECT c.item_id, c.pages, i.name, i.seq, i.volume FROM custody_items c
                         JOIN items i ON i.id = c.item_id WHERE c.event_id = ? ORDER BY i.intake_id, i.seq""",
        [event_id],
    )


_OPEN_LOANS = """SELECT * FROM custody_events b WHERE b.kind = 'borrow'
                 AND NOT EXISTS (SELECT 1 FROM custody_events r WHERE r.loan_id = b.id)"""


def open_loans(db: Database, case_number: str | None = None) -> list[dict[str, Any]]:
    if case_number is None:
        return _dicts(db, _OPEN_LOANS + " ORDER BY b.due_back", [])
    return _dicts(db, _OPEN_LOANS + " AND b.case_number = ? ORDER BY b.due_back", [case_number])


def overdue_loans(db: Database, now_iso: str) -> list[dict[str, Any]]:
    return _dicts(db, _OPEN_LOANS + " AND b.due_back < ? ORDER BY b.due_back", [now_iso])


def returned(db: Database, loan_id: str) -> bool:
    return db.execute("SELECT 1 FROM custody_events WHERE loan_id = ?", [loan_id]).fetchone() is not None
