"""SQL for served documents waiting to be collected (pickups, m004_counter)."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from juanzong.edge.repo.counter import _dicts


def insert(db: Database, pickup_id: str, case_number: str, addressee: str, documents: str, registered_by: str, at: str) -> None:
    db.execute(
        "INSERT INTO pickups(id, case_number, addressee, documents, registered_by, registered_at) VALUES (?,?,?,?,?,?)",
        [pickup_id, case_number, addressee, documents, registered_by, at],
    )


def get(db: Database, pickup_id: str) -> dict[str, Any] | None:
    rows = _dicts(db, "SELECT * FROM pickups WHERE id = ?", [pickup_id])
    return rows[0] if rows else None


def waiting(db: Database) -> list[dict[str, Any]]:
    return _dicts(db, "SELECT * FROM pickups WHERE handed_at IS NULL ORDER BY registered_at", [])


def handed_between(db: Database, start: str, end: str) -> list[dict[str, Any]]:
    return _dicts(db, "SELECT * FROM pickups WHERE handed_at >= ? AND handed_at < ? ORDER BY handed_at DESC", [start, end])


def mark_handed(db: Database, pickup_id: str, at: str, by: str, id_checked: str, id_number: bytes | None, signature: str) -> None:
    db.execute(
        "UPDATE pickups SET handed_at = ?, handed_by = ?, id_checked = ?, id_number = ?, signature = ? WHERE id = ?",
        [at, by, id_checked, id_number, signature, pickup_id],
    )


def set_filed(db: Database, pickup_id: str, intake_id: str | None, page_id: str | None) -> None:
    db.execute(
        "UPDATE pickups SET intake_id = COALESCE(?, intake_id), page_id = COALESCE(?, page_id) WHERE id = ?",
        [intake_id, page_id, pickup_id],
    )


def first_item_of(db: Database, intake_id: str) -> str:
    return db.execute("SELECT id FROM items WHERE intake_id = ? ORDER BY seq LIMIT 1", [intake_id]).fetchone()[0]
