"""The quarantine shelf: files refused by ingest, with their reason (kept encrypted, or set aside unread)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True)
class QuarantineRow:
    qid: str
    claim: str
    source_name: str
    source_sha256: str
    source_size: int
    code: str
    reason: str
    blob_id: str | None  # None: set aside unread (too large), no encrypted copy


def insert(db: Database, row: QuarantineRow, now: str) -> None:
    db.execute(
        "INSERT INTO quarantine(id, claim, source_name, source_sha256, source_size, code, reason, blob_id, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?)",
        [row.qid, row.claim, row.source_name, row.source_sha256, row.source_size, row.code, row.reason, row.blob_id, now],
    )


def has_claim(db: Database, claim: str) -> bool:
    return db.execute("SELECT 1 FROM quarantine WHERE claim = ?", [claim]).fetchone() is not None


def kept_encrypted(db: Database, claim: str) -> bool:
    """The spool file was quarantined with an encrypted copy."""
    sql = "SELECT 1 FROM quarantine WHERE claim = ? AND blob_id IS NOT NULL"
    return db.execute(sql, [claim]).fetchone() is not None


def source_and_blob(db: Database, qid: str) -> tuple[str, str | None] | None:
    """(source_name, blob_id) of a shelf entry, or None."""
    row = db.execute("SELECT source_name, blob_id FROM quarantine WHERE id = ?", [qid]).fetchone()
    return (row[0], row[1]) if row else None


def shelf(db: Database) -> list[dict[str, Any]]:
    cur = db.execute(
        "SELECT id, source_name, source_size, code, reason, blob_id IS NOT NULL, created_at, discarded_at, "
        "discard_reason, discarded_by, retried_at, retried_to FROM quarantine ORDER BY created_at"
    )
    cols = (
        "id",
        "source_name",
        "size",
        "code",
        "reason",
        "encrypted",
        "at",
        "discarded_at",
        "discard_reason",
        "discarded_by",
        "retried_at",
        "retried_to",
    )
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def discard_target(db: Database, qid: str) -> tuple[str | None, str | None, str | None, str | None] | None:
    """(blob_id, discarded_at, blob kind, blob sha256) of a shelf entry, or None."""
    return db.execute(
        "SELECT q.blob_id, q.discarded_at, b.kind, b.sha256 FROM quarantine q LEFT JOIN blobs b ON b.id = q.blob_id WHERE q.id = ?", [qid]
    ).fetchone()


def retried(db: Database, qid: str) -> tuple[str, str] | None:
    """(when, under which name) a shelf entry was put back into the hot folder, or None."""
    row = db.execute("SELECT retried_at, retried_to FROM quarantine WHERE id = ? AND retried_at IS NOT NULL", [qid]).fetchone()
    return (row[0], row[1]) if row else None


def mark_retried(db: Database, qid: str, at: str, to: str) -> None:
    db.execute("UPDATE quarantine SET retried_at = ?, retried_to = ? WHERE id = ?", [at, to, qid])


def mark_discarded(db: Database, qid: str, at: str, reason: str, actor: str) -> None:
    db.execute("UPDATE quarantine SET discarded_at = ?, discard_reason = ?, discarded_by = ? WHERE id = ?", [at, reason, actor, qid])


def overview(db: Database) -> list[dict[str, Any]]:
    rows = db.execute("SELECT id, source_name, code, reason, created_at FROM quarantine ORDER BY created_at").fetchall()
    return [dict(zip(("id", "source_name", "code", "reason", "at"), r)) for r in rows]


def count(db: Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0])
