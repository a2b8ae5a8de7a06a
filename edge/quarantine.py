"""The quarantine shelf: what was set aside, and putting a file back through ingest.

A quarantined file is kept encrypted with its reason. `retry` opens it with
the appliance's key (audited as a key use) and writes it back into the hot
folder under its original name — after, say, a software fix for an
INGEST_FAILED file, or a profile change that now accepts its type. The
quarantine row stays: the shelf is a record, not a queue.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import ApplianceKeys
from juanzong.edge.repo import blobs
from juanzong.edge.repo import quarantine as shelf_rows
from juanzong.shared.crypto import open_blob_local
from juanzong.shared.durable import fsync_dir
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.audit import Action


def shelf(db: Database) -> list[dict]:
    return shelf_rows.shelf(db)


def retry(db: Database, store: BlobStore, keys: ApplianceKeys, appliance_id: str, hot_folder: Path, qid: str) -> Path:
    found = shelf_rows.source_and_blob(db, qid)
    if found is None or found[1] is None:
        raise AppError(ErrorCode.QUARANTINE_NOT_FOUND, qid=qid)
    source_name, blob_id = found
    wrapped = blobs.wrapped_local(db, blob_id)
    if wrapped is None:  # shredded after its retention (edge/purge.py)
        raise AppError(ErrorCode.QUARANTINE_NOT_FOUND, qid=qid)
    plain = open_blob_local(store.get(blob_id), wrapped, kek=keys.kek, appliance_id=appliance_id, blob_id=blob_id, kind="quarantine")
    target = hot_folder / f"retry-{qid}-{source_name}"
    tmp = hot_folder / f".{target.name}.tmp"  # hidden: the watcher takes it only once renamed
    with open(tmp, "wb") as f:
        f.write(plain)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, target)
    fsync_dir(hot_folder)
    audit.record(db, place=appliance_id, actor="operator", action=Action.QUARANTINE_RETRY, target=qid, key_use="kek", to=target.name)
    return target
