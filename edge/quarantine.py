"""The quarantine shelf: what was set aside, and putting a file back through ingest.

A quarantined file is kept encrypted with its reason. `retry` opens it with
the appliance's key (audited as a key use) and writes it back into the hot
folder under its original name — after, say, a software fix for an
INGEST_FAILED file, or a profile change that now accepts its type. The
quarantine row stays: the shelf is a record, not a queue. A file is put back
once: a second retry would store the same scan twice (a file that fails again
gets a new shelf entry, which can be retried in turn).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import ApplianceKeys
from juanzong.edge.repo import blobs, write_tx
from juanzong.edge.repo import quarantine as shelf_rows
from juanzong.shared import clock
from juanzong.shared.audit import Action
from juanzong.shared.crypto import open_blob_local
from juanzong.shared.durable import write_durable
from juanzong.shared.errors import AppError, ErrorCode


def shelf(db: Database) -> list[dict]:
    return shelf_rows.shelf(db)


def retry(
    db: Database, store: BlobStore, keys: ApplianceKeys, appliance_id: str, hot_folder: Path, qid: str, actor: str = "operator"
) -> Path:
    found = shelf_rows.source_and_blob(db, qid)
    if found is None:
        raise AppError(ErrorCode.QUARANTINE_NOT_FOUND, qid=qid)
    source_name, blob_id = found
    if blob_id is None:
        raise AppError(ErrorCode.QUARANTINE_NOT_FOUND, qid=qid)
    done = shelf_rows.retried(db, qid)
    if done is not None:
        raise AppError(ErrorCode.QUARANTINE_RETRIED, qid=qid, at=done[0], to=done[1])
    wrapped = blobs.wrapped_local(db, blob_id)
    if wrapped is None:  # shredded after its retention (edge/purge.py)
        raise AppError(ErrorCode.QUARANTINE_NOT_FOUND, qid=qid)
    plain = open_blob_local(store.get(blob_id), wrapped, kek=keys.kek, appliance_id=appliance_id, blob_id=blob_id, kind="quarantine")
    target = hot_folder / f"retry-{qid}-{source_name}"
    with write_tx(db):  # marked and audited only if the file is written; never put back twice
        shelf_rows.mark_retried(db, qid, clock.iso("seconds"), target.name)
        audit.record(db, place=appliance_id, actor=actor, action=Action.QUARANTINE_RETRY, target=qid, key_use="kek", to=target.name)
        write_durable(target, plain, 0o600)  # its temp name is hidden: the watcher takes it only once renamed
    return target


def discard(
    db: Database, store: BlobStore, appliance_id: str, qid: str, reason: str, actor: str = "operator", now: datetime | None = None
) -> dict:
    """Discard a quarantined file with a reason: the row stays as the record, the blob is shredded
    the way `edge purge` shreds (local key wrap destroyed, file removed, reported to central)."""
    from juanzong.edge.purge import shred

    why = " ".join((reason or "").split())[:500]
    if not why:
        raise AppError(ErrorCode.QC_REASON_REQUIRED, what="丢弃隔离文件")
    row = shelf_rows.discard_target(db, qid)
    if row is None or row[1] is not None:
        raise AppError(ErrorCode.QUARANTINE_NOT_FOUND, qid=qid)
    at = now or clock.now()
    with write_tx(db):
        shelf_rows.mark_discarded(db, qid, at.isoformat(timespec="seconds"), why, actor)
        audit.record(db, place=appliance_id, actor=actor, action=Action.QUARANTINE_DISCARD, target=qid, reason=why)
    if row[0] is not None:
        shred(db, store, appliance_id, (row[0], row[2], row[3]), at, actor, f"quarantine discarded: {why}")
    return {"qid": qid, "reason": why}
