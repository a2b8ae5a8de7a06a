"""Removable media central registered for this appliance (air-gapped carry)."""

from __future__ import annotations

from sqlite_utils import Database


def upsert_initialised(
    db: Database, *, medium_id: str, label: str, registration: str, fs_uuid: str | None, valid_until: str, initialised_at: str
) -> None:
    """Record a medium prepared here; preparing it again updates its filesystem and time."""
    db.execute(
        "INSERT INTO media(medium_id, label, registration, fs_uuid, valid_until, initialised_at) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT(medium_id) DO UPDATE SET fs_uuid = excluded.fs_uuid, initialised_at = excluded.initialised_at",
        [medium_id, label, registration, fs_uuid, valid_until, initialised_at],
    )


def fs_uuid(db: Database, medium_id: str) -> tuple[str | None] | None:
    """(fs_uuid,) of a medium prepared here (the uuid may be None), or None when it never was."""
    row = db.execute("SELECT fs_uuid FROM media WHERE medium_id = ?", [medium_id]).fetchone()
    return (row[0],) if row else None


def mark_exported(db: Database, medium_id: str, at: str, batches: int, last_seq: int | None) -> None:
    db.execute(
        "UPDATE media SET last_export_at = ?, last_export_batches = ?, last_export_seq = ? WHERE medium_id = ?",
        [at, batches, last_seq, medium_id],
    )


def last_export(db: Database) -> tuple[str, str, str, int, int | None] | None:
    """(medium_id, label, last_export_at, last_export_batches, last_export_seq) of the latest carry, or None."""
    return db.execute(
        "SELECT medium_id, label, last_export_at, last_export_batches, last_export_seq FROM media "
        "WHERE last_export_at IS NOT NULL ORDER BY last_export_at DESC LIMIT 1"
    ).fetchone()


def validity(db: Database) -> list[tuple[str, str | None, str]]:
    """(medium_id, fs_uuid, valid_until) of every medium prepared here (the caller compares times:
    `valid_until` is ISO text with an offset, which does not sort across offsets)."""
    return [tuple(r) for r in db.execute("SELECT medium_id, fs_uuid, valid_until FROM media ORDER BY medium_id")]
