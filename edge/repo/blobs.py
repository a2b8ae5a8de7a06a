"""Encrypted blobs: one row per sealed file on disk (its wrapped keys, hashes, size)."""

from __future__ import annotations

from sqlite_utils import Database

from juanzong.shared.crypto import SealedBlob


def insert(db: Database, sealed: SealedBlob, now: str) -> None:
    db.execute(
        "INSERT INTO blobs(id, kind, sha256, size, wrapped_local, sealed_central, plain_sha256, created_at, suite, sm3) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        [sealed.blob_id, sealed.kind, sealed.sha256, sealed.size, sealed.wrapped_local, sealed.sealed_central,
         sealed.plain_sha256, now, str(sealed.suite), sealed.sm3],
    )


def ids(db: Database) -> set[str]:
    return {r[0] for r in db.execute("SELECT id FROM blobs").fetchall()}


def wrapped_local(db: Database, blob_id: str) -> bytes | None:
    row = db.execute("SELECT wrapped_local FROM blobs WHERE id = ?", [blob_id]).fetchone()
    return row[0] if row else None
