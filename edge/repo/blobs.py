"""Encrypted blobs: one row per sealed file on disk (its wrapped keys, hashes, size)."""

from __future__ import annotations

from sqlite_utils import Database

from juanzong.edge.repo.batches import BatchState
from juanzong.shared.crypto import SealedBlob


def insert(db: Database, sealed: SealedBlob, now: str) -> None:
    db.execute(
        "INSERT INTO blobs(id, kind, sha256, size, wrapped_local, sealed_central, plain_sha256, created_at, suite, sm3) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            sealed.blob_id,
            sealed.kind,
            sealed.sha256,
            sealed.size,
            sealed.wrapped_local,
            sealed.sealed_central,
            sealed.plain_sha256,
            now,
            str(sealed.suite),
            sealed.sm3,
        ],
    )


def ids(db: Database) -> set[str]:
    return {r[0] for r in db.execute("SELECT id FROM blobs").fetchall()}


def kind(db: Database, blob_id: str) -> str:
    return db.execute("SELECT kind FROM blobs WHERE id = ?", [blob_id]).fetchone()[0]


def wrapped_local(db: Database, blob_id: str) -> bytes | None:
    row = db.execute("SELECT wrapped_local FROM blobs WHERE id = ?", [blob_id]).fetchone()
    return row[0] if row else None


# a page travels in its batch; a cover sheet's scan never travels: it goes with its item's batch
_ACKED_UNPURGED = """SELECT b.id, b.kind, b.sha256 FROM blobs b JOIN pages p ON p.blob_id = b.id
    JOIN batches t ON t.id = COALESCE(p.batch_id, (SELECT i.batch_id FROM items i WHERE i.id = p.item_id))
    WHERE b.purged_at IS NULL AND t.state = ? AND t.acked_at <= ?"""
_QUARANTINED_UNPURGED = """SELECT b.id, b.kind, b.sha256 FROM blobs b JOIN quarantine q ON q.blob_id = b.id
    WHERE b.purged_at IS NULL AND q.created_at <= ?"""


def acknowledged_before(db: Database, before: str) -> list[tuple[str, str, str]]:
    """(id, kind, sha256) of unpurged page blobs whose batch central acknowledged at or before `before`."""
    return db.execute(_ACKED_UNPURGED, [BatchState.ACKNOWLEDGED, before]).fetchall()


def quarantined_before(db: Database, before: str) -> list[tuple[str, str, str]]:
    """(id, kind, sha256) of unpurged quarantine blobs set aside at or before `before`."""
    return db.execute(_QUARANTINED_UNPURGED, [before]).fetchall()


def mark_purged(db: Database, blob_id: str, at: str) -> None:
    """Destroy the local wrap (crypto-shredding) and record when."""
    db.execute("UPDATE blobs SET wrapped_local = NULL, purged_at = ? WHERE id = ? AND purged_at IS NULL", [at, blob_id])


def unreported_purges(db: Database) -> list[tuple[str, str, str, str]]:
    """(id, kind, sha256, purged_at) of purges no sealed batch has reported yet."""
    return db.execute(
        "SELECT id, kind, sha256, purged_at FROM blobs WHERE purged_at IS NOT NULL AND purge_batch_id IS NULL ORDER BY purged_at, id"
    ).fetchall()


def locally_wrapped(db: Database) -> list[tuple[str, str, bytes]]:
    """(id, kind, wrapped_local) of every blob whose local wrap still exists."""
    return db.execute("SELECT id, kind, wrapped_local FROM blobs WHERE wrapped_local IS NOT NULL").fetchall()


def set_wrapped_local(db: Database, blob_id: str, wrapped: bytes) -> None:
    db.execute("UPDATE blobs SET wrapped_local = ? WHERE id = ?", [wrapped, blob_id])


def for_verify(db: Database) -> list[tuple[str, str, str, bytes | None, str, str | None]]:
    """(id, kind, sha256, wrapped_local, plain_sha256, purged_at) of every blob."""
    return db.execute("SELECT id, kind, sha256, wrapped_local, plain_sha256, purged_at FROM blobs ORDER BY id").fetchall()
