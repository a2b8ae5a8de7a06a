"""The quarantine shelf: what was set aside, and putting a file back through ingest.

A quarantined file is kept encrypted with its reason. `retry` opens it with
the appliance's key (audited as a key use) and writes it back into the hot
folder under its original name — after, say, a software fix for an
INGEST_FAILED file, or a profile change that now accepts its type. The
quarantine row stays: the shelf is a record, not a queue.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.db import write_tx
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import ApplianceKeys
from juanzong.shared.crypto import open_blob_local
from juanzong.shared.durable import fsync_dir
from juanzong.shared.errors import AppError, ErrorCode


def shelf(db: Database) -> list[dict]:
    cur = db.execute("SELECT id, source_name, source_size, code, reason, blob_id IS NOT NULL, created_at, discarded_at, "
                     "discard_reason, discarded_by FROM quarantine ORDER BY created_at")
    cols = ("id", "source_name", "size", "code", "reason", "encrypted", "at", "discarded_at", "discard_reason", "discarded_by")
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def retry(db: Database, store: BlobStore, keys: ApplianceKeys, appliance_id: str, hot_folder: Path, qid: str,
          actor: str = "operator") -> Path:
    row = db.execute("SELECT source_name, blob_id, discarded_at FROM quarantine WHERE id = ?", [qid]).fetchone()
    if row is None or row[1] is None or row[2] is not None:
        raise AppError(ErrorCode.QUARANTINE_NOT_FOUND, qid=qid)
    wrapped = db.execute("SELECT wrapped_local FROM blobs WHERE id = ?", [row[1]]).fetchone()[0]
    if wrapped is None:  # shredded after its retention (edge/purge.py)
        raise AppError(ErrorCode.QUARANTINE_NOT_FOUND, qid=qid)
    plain = open_blob_local(store.get(row[1]), wrapped, kek=keys.kek, appliance_id=appliance_id, blob_id=row[1], kind="quarantine")
    target = hot_folder / f"retry-{qid}-{row[0]}"
    tmp = hot_folder / f".{target.name}.tmp"  # hidden: the watcher takes it only once renamed
    with open(tmp, "wb") as f:
        f.write(plain)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, target)
    fsync_dir(hot_folder)
    audit.record(db, place=appliance_id, actor=actor, action="quarantine_retry", target=qid, key_use="kek", to=target.name)
    return target


def discard(db: Database, store: BlobStore, appliance_id: str, qid: str, reason: str, actor: str = "operator",
            now: datetime | None = None) -> dict:
    """Discard a quarantined file with a reason: the row stays as the record, the blob is shredded
    the way `edge purge` shreds (local key wrap destroyed, file removed, reported to central)."""
    from juanzong.edge.purge import shred

    why = " ".join((reason or "").split())[:500]
    if not why:
        raise AppError(ErrorCode.QC_REASON_REQUIRED, what="丢弃隔离文件")
    row = db.execute("SELECT q.blob_id, q.discarded_at, b.kind, b.sha256 FROM quarantine q LEFT JOIN blobs b ON b.id = q.blob_id "
                     "WHERE q.id = ?", [qid]).fetchone()
    if row is None or row[1] is not None:
        raise AppError(ErrorCode.QUARANTINE_NOT_FOUND, qid=qid)
    at = now or datetime.now(timezone.utc)
    with write_tx(db):
        db.execute("UPDATE quarantine SET discarded_at = ?, discard_reason = ?, discarded_by = ? WHERE id = ?",
                   [at.isoformat(timespec="seconds"), why, actor, qid])
        audit.record(db, place=appliance_id, actor=actor, action="quarantine_discard", target=qid, reason=why)
    if row[0] is not None:
        shred(db, store, appliance_id, (row[0], row[2], row[3]), at, actor, f"quarantine discarded: {why}")
    return {"qid": qid, "reason": why}
