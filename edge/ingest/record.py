"""Stage 6, record: durable blobs first, then one transaction for the page rows.

Blobs are written (temp → fsync → verify → rename → dir fsync) before the
transaction; a crash in between leaves an orphan blob that start-up sweeps
while the source waits in the spool. Inside the transaction the page number is
allocated as max+1 for the item (the immediate transaction holds the write lock,
so two writers can never take the same number), the active item moves on a
cover sheet, and the scan is audited. `UNIQUE(claim)` makes a replay of an
already-committed file a no-op that the caller detects with `already_recorded`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.crashpoints import crash_point
from juanzong.edge.db import state_set, write_tx
from juanzong.edge.ingest.context import IngestContext, Page
from juanzong.shared.crypto import SealedBlob

ACTIVE_ITEM = "active_item"
REPLACE_TARGET = "replace_target"


def already_recorded(db: Database, claim: str) -> bool:
    return db.execute("SELECT 1 FROM pages WHERE claim LIKE ? LIMIT 1", [claim + "#%"]).fetchone() is not None


def commit(db: Database, store: BlobStore, pages: tuple[Page, ...], ctx: IngestContext) -> tuple[Page, ...]:
    for page in pages:
        store.put(page.page_id, page.sealed.data)
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    with write_tx(db):
        numbered = tuple(_insert(db, page, now) for page in pages)
        audit.record(
            db, place=ctx.appliance_id, actor="scanner", action="scan", target=pages[0].claimed.source_name,
            pages=[p.page_id for p in numbered], roles=[p.role for p in numbered],
        )
        crash_point("commit")
    return numbered


def insert_blob(db: Database, sealed: SealedBlob, now: str) -> None:
    db.execute(
        "INSERT INTO blobs(id, kind, sha256, size, wrapped_local, sealed_central, plain_sha256, created_at, suite, sm3)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        [sealed.blob_id, sealed.kind, sealed.sha256, sealed.size, sealed.wrapped_local, sealed.sealed_central,
         sealed.plain_sha256, now, str(sealed.suite), sealed.sm3],
    )


def _insert(db: Database, page: Page, now: str) -> Page:
    sealed = page.sealed
    insert_blob(db, sealed, now)
    page_no = _page_no(db, page)
    if page.role == "cover":
        state_set(db, ACTIVE_ITEM, page.item_id)
    db.execute(
        """INSERT INTO pages(id, claim, item_id, page_no, side, role, source_name, source_sha256, source_size,
               blob_id, width, height, dpi, mode, findings, phash, scanned_at, replaces)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        [page.page_id, page.claim_key, page.item_id, page_no, page.side, page.role, page.claimed.source_name,
         page.source_sha256, page.source_size, sealed.blob_id, page.width, page.height, page.dpi, page.mode,
         json.dumps(_findings(page), ensure_ascii=False), page.qc.phash if page.qc else None, now, page.replaces],
    )
    return page


def _page_no(db: Database, page: Page) -> int | None:
    if page.role != "page" or not page.item_id:
        return None
    if page.replaces:
        return _take_number_of(db, page)
    row = db.execute("SELECT COALESCE(MAX(page_no), 0) FROM pages WHERE item_id = ?", [page.item_id]).fetchone()
    return row[0] + 1


def _take_number_of(db: Database, page: Page) -> int:
    """The replaced page keeps its row and blob (nothing is deleted) but gives up its
    number; it is sent again so central learns of the replacement."""
    number = db.execute("SELECT page_no FROM pages WHERE id = ?", [page.replaces]).fetchone()[0]
    db.execute("UPDATE pages SET page_no = NULL, role = 'replaced', replaced_by = ?, batch_id = NULL WHERE id = ?",
               [page.page_id, page.replaces])
    state_set(db, REPLACE_TARGET, None)
    return number


def _findings(page: Page) -> list[dict]:
    return [f.to_dict() for f in page.qc.findings] if page.qc else []
