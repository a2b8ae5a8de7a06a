"""When an item is complete, build its PDF; when it changes, build it again.

An item is complete when the operator closed it, when the next item's cover
sheet was scanned after its last page, or when its last page is older than the
scanner profile's `document.idle_seconds`. Database triggers mark an item dirty
whenever its pages or its catalog place change (a page scanned, replaced,
assigned, discarded; the item closed or reopened), so any operator action leads
here without coupling; `request_rebuild` is the explicit hook for the rest.

A build decrypts the item's masters, assembles the image-only PDF at once (the
stamp included), stores it as an encrypted blob of kind `document` and queues
it for OCR by the intake's deadline. Nothing is rebuilt when the item's
signature (pages in order with side and rotation, catalog place, name, case
number) is what the current document was built from.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.documents.assemble import Assembled, CatalogPlace, DocumentMeta, SourcePage, assemble
from juanzong.edge.documents.textlayer import PageText
from juanzong.edge.keys import ApplianceKeys
from juanzong.edge.repo import blobs, write_tx
from juanzong.edge.repo import documents as store
from juanzong.edge.repo.documents import DocumentRow, ItemRow, PageRow
from juanzong.shared import clock, crypto
from juanzong.shared.audit import Action
from juanzong.shared.catalog import catalog_for
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.suites import Suite

log = logging.getLogger("juanzong.documents")
BLOB_KIND = "document"


@dataclass(frozen=True)
class DocumentContext:
    db: Database
    blobs: BlobStore
    keys: ApplianceKeys
    appliance_id: str
    idle_seconds: float
    suite: Suite = Suite.AES  # the appliance's crypto_suite (shared/suites.py)


def request_rebuild(db: Database, item_id: str) -> None:
    """For operator actions the triggers cannot see: the item is looked at again (own transaction
    unless the caller holds one)."""
    if db.conn.in_transaction:
        store.mark_dirty(db, item_id)
    else:
        with write_tx(db):
            store.mark_dirty(db, item_id)


def is_complete(ctx: DocumentContext, item_id: str, now: datetime) -> bool:
    closed, next_cover, last_scan, pages = store.completion(ctx.db, item_id)
    if pages == 0:
        return False
    idle = last_scan is not None and (now - datetime.fromisoformat(last_scan)).total_seconds() >= ctx.idle_seconds
    return closed or next_cover or idle


def build_due(ctx: DocumentContext, now: datetime | None = None) -> list[str]:
    """Build every complete dirty item whose content changed; returns the new document ids."""
    now = now or clock.now()
    built = []
    for item_id, gen in store.dirty_items(ctx.db):
        if not is_complete(ctx, item_id, now):
            continue
        try:
            doc = build_item(ctx, item_id, gen)
        except AppError as err:  # one bad item must not stop the others
            log.error("document for %s not built: %s %s", item_id, err.code, err.message)
            continue
        except Exception:  # a bug: logged, the item stays marked and is tried again next round
            log.exception("document for %s not built", item_id)
            continue
        if doc is not None:
            built.append(doc.document_id)
    return built


def _item(db: Database, item_id: str) -> ItemRow:
    item = store.item_row(db, item_id)
    if item is None:  # removed meanwhile: the round logs it and goes on
        raise AppError(ErrorCode.ITEM_NOT_FOUND, item_id=item_id)
    return item


def build_item(ctx: DocumentContext, item_id: str, gen: int) -> DocumentRow | None:
    item = _item(ctx.db, item_id)
    pages = store.item_pages(ctx.db, item_id)
    place = catalog_place(ctx.db, item)
    sig = signature(item, pages, place)
    current = store.current_document(ctx.db, item_id)
    if current is not None and current.signature == sig:
        with write_tx(ctx.db):
            store.clear_dirty(ctx.db, item_id, gen)
        return None
    sources = masters(ctx, pages)
    meta = DocumentMeta(item.item_id, item.case_number, item.name, place)
    version = store.next_version(ctx.db, item_id)
    doc = save(ctx, item, meta, sig, version, assemble(sources, meta), gen=gen)
    if doc is not None:  # always, without `replaces`
        log.info("document %s v%d for %s: %d pages, image only", doc.document_id, version, item_id, len(pages))
    return doc


def catalog_place(db: Database, item: ItemRow) -> CatalogPlace:
    seq = 0  # uncatalogued (a case type without a list yet): files sort first, as 00
    with contextlib.suppress(AppError, KeyError):
        seq = catalog_for(item.case.get("type_code", ""), court=item.case.get("court")).entry(item.catalog_dir, item.volume).seq
    return CatalogPlace(item.volume, item.catalog_dir, seq, store.order_in_directory(db, item))


def signature(item: ItemRow, pages: list[PageRow], place: CatalogPlace) -> str:
    body = {
        "pages": [[p.page_id, p.page_no, p.side, p.rotation] for p in pages],
        "place": place.to_dict(),
        "name": item.name,
        "case_number": item.case_number,
    }
    return crypto.sha256_hex(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8"))


def masters(ctx: DocumentContext, pages: list[PageRow]) -> list[SourcePage]:
    return [
        SourcePage(p.page_id, p.page_no, open_local(ctx, p.blob_id, p.blob_kind, p.wrapped_local), p.side, p.rotation, p.dpi) for p in pages
    ]


def open_local(ctx: DocumentContext, blob_id: str, kind: str, wrapped: bytes) -> bytes:
    return crypto.open_blob_local(
        ctx.blobs.get(blob_id), wrapped, kek=ctx.keys.kek, appliance_id=ctx.appliance_id, blob_id=blob_id, kind=kind
    )


def save(
    ctx: DocumentContext,
    item: ItemRow,
    meta: DocumentMeta,
    sig: str,
    version: int,
    built: Assembled,
    gen: int | None = None,
    replaces: str | None = None,
) -> DocumentRow | None:
    """Encrypt and store the PDF, then one transaction: row, queue, audit. A searchable
    document (`replaces` = the image-only one) is dropped if the item moved on meanwhile."""
    doc_id = new_id(Kind.DOCUMENT)
    sealed = crypto.seal_blob(
        built.pdf,
        appliance_id=ctx.appliance_id,
        blob_id=doc_id,
        kind=BLOB_KIND,
        kek=ctx.keys.kek,
        central_public=ctx.keys.central.hpke_public,
        suite=ctx.suite,
    )
    ctx.blobs.put(doc_id, sealed.data)
    doc = DocumentRow(doc_id, item.item_id, version, built.searchable, doc_id, sig, built.page_ids, meta.file_name, meta.place.to_dict())
    now = store.utc_iso()
    with write_tx(ctx.db):
        if replaces is not None and (store.current_document(ctx.db, item.item_id) or doc).document_id != replaces:
            return None  # rebuilt while OCR ran: the orphan blob is swept at start-up
        blobs.insert(ctx.db, sealed, now)
        store.insert_document(ctx.db, doc, len(built.page_ids), built.stamped_over_content, now)
        if built.searchable:
            store.dequeue(ctx.db, replaces or doc_id)
        else:
            store.enqueue(ctx.db, doc_id, item, now)
        if gen is not None:
            store.clear_dirty(ctx.db, item.item_id, gen)
        audit.record(
            ctx.db,
            place=ctx.appliance_id,
            actor="system",
            action=Action.DOCUMENT,
            target=doc_id,
            item=item.item_id,
            version=version,
            searchable=built.searchable,
            pages=len(built.page_ids),
            stamped_over_content=list(built.stamped_over_content),
        )
    return doc


def build_searchable(
    ctx: DocumentContext, image_only: DocumentRow, texts: Mapping[str, PageText], sources: list[SourcePage]
) -> DocumentRow | None:
    item = _item(ctx.db, image_only.item_id)
    meta = DocumentMeta(item.item_id, item.case_number, item.name, CatalogPlace(**image_only.place))
    built = assemble(sources, meta, texts)
    return save(ctx, item, meta, image_only.signature, image_only.version, built, replaces=image_only.document_id)


def file_notices(ctx: DocumentContext) -> list[dict[str, Any]]:
    """入卷提醒: one per current searchable document of a closed item."""
    made: list[dict[str, Any]] = []
    for item_id, document_id in store.notices_due(ctx.db):
        item, doc = _item(ctx.db, item_id), store.document(ctx.db, document_id)
        if doc is None:  # notices_due names documents that exist
            raise AppError(ErrorCode.DOCUMENT_NOT_FOUND, item_id=item_id)
        notice_id = new_id(Kind.NOTICE)
        kind = "updated" if store.has_notice(ctx.db, item_id) else "filed"
        notice = {
            "notice_id": notice_id,
            "item_id": item_id,
            "document_id": document_id,
            "kind": kind,
            "case_number": item.case_number,
            "item_name": item.name,
            "place": doc.place,
            "pages": len(doc.page_ids),
            "created_at": store.utc_iso(),
        }
        with write_tx(ctx.db):
            store.insert_notice(ctx.db, notice)
            audit.record(
                ctx.db,
                place=ctx.appliance_id,
                actor="system",
                action=Action.NOTICE,
                target=notice_id,
                item=item_id,
                document=document_id,
                kind=kind,
            )
        made.append(notice)
    return made


def read_current(ctx: DocumentContext, item_id: str, actor: str) -> tuple[DocumentRow, bytes]:
    """The item's current PDF, decrypted; reading it is audited."""
    doc = store.current_document(ctx.db, item_id)
    if doc is None:
        raise AppError(ErrorCode.DOCUMENT_NOT_FOUND, item_id=item_id)
    kind, wrapped = store.blob_key(ctx.db, doc.blob_id)
    audit.record(ctx.db, place=ctx.appliance_id, actor=actor, action=Action.EXPORT, target=doc.document_id, item=item_id, key_use="kek")
    return doc, open_local(ctx, doc.blob_id, kind, wrapped)
