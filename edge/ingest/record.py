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

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.crashpoints import crash_point
from juanzong.edge.ingest.context import IngestContext, Page, PageRole
from juanzong.edge.repo import blobs, pages, state, write_tx
from juanzong.edge.repo.state import StateKey
from juanzong.shared import clock
from juanzong.shared.audit import Action


def commit(db: Database, store: BlobStore, scanned: tuple[Page, ...], ctx: IngestContext) -> tuple[Page, ...]:
    for page in scanned:
        assert page.sealed is not None, "every page is encrypted before it is recorded"
        store.put(page.page_id, page.sealed.data)
    now = clock.iso()
    with write_tx(db):
        numbered = tuple(_insert(db, page, now) for page in scanned)
        audit.record(
            db,
            place=ctx.appliance_id,
            actor="scanner",
            action=Action.SCAN,
            target=scanned[0].claimed.source_name,
            pages=[p.page_id for p in numbered],
            roles=[p.role for p in numbered],
        )
        crash_point("commit")
    return numbered


def _insert(db: Database, page: Page, now: str) -> Page:
    assert page.sealed is not None
    blobs.insert(db, page.sealed, now)
    page_no = _page_no(db, page)
    if page.role == PageRole.COVER:
        state.put(db, StateKey.ACTIVE_ITEM, page.item_id)
    elif page.role == PageRole.COVER_UNKNOWN:  # another appliance's item: what follows is not the active item's
        state.put(db, StateKey.ACTIVE_ITEM, None)
    pages.insert(db, page, page_no, json.dumps(_findings(page), ensure_ascii=False), now)
    return page


def _page_no(db: Database, page: Page) -> int | None:
    number = _take_number_of(db, page) if page.replaces else None
    if page.role != PageRole.PAGE or not page.item_id:
        return None
    return number if number is not None else pages.next_page_no(db, page.item_id)


def _take_number_of(db: Database, page: Page) -> int | None:
    """The replaced image keeps its row and blob (nothing is deleted) but gives up its
    number; it is sent again so central learns of the replacement. The plan moves on
    to its next image (the back of a duplex sheet), or ends."""
    assert page.replaces is not None
    number = pages.give_up_number(db, page.replaces, replaced_by=page.page_id)
    rest = [p for p in replace_plan(db) if p != page.replaces]
    state.put(db, StateKey.REPLACE_TARGET, ",".join(rest) or None)
    return number


def replace_plan(db: Database) -> list[str]:
    """The images a pending `edge replace` still has to take over, in scan order."""
    value = state.get(db, StateKey.REPLACE_TARGET)
    return [p for p in (value or "").split(",") if p]


def _findings(page: Page) -> list[dict]:
    return [f.to_dict() for f in page.qc.findings] if page.qc else []
