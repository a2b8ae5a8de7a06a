"""Documents and filing notices at central: stored with their batch, read back for people.

A document row is what the appliance built for an item (image-only, then the
searchable version that supersedes it; a rebuild after a change is a new
version), with `document_pages` saying which page ids it holds in which order.
The item's current document is its highest version, searchable before
image-only. Reading one decrypts it with central's HPKE key: audited, like a page.

Filing notices (入卷提醒) arrive in manifests and are listed for the archive office
(`central notices`) and served to the case system (`GET /api/notices`, a
per-client token, see `central/apiclients.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from juanzong.central import audit, db, storage
from juanzong.central.home import Central
from juanzong.shared import crypto
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.errors import AppError, ErrorCode


@dataclass(frozen=True)
class DocumentRef:
    document_id: str
    appliance_id: str
    item_id: str
    version: int
    searchable: bool
    file_name: str
    blob_sha256: str
    blob_kind: str
    sealed_key: str
    page_ids: tuple[str, ...]


# --- reading --------------------------------------------------------------------------------------


def current_document(central: Central, item_id: str) -> DocumentRef | None:
    d = db.documents
    query = select(d).where(d.c.item_id == item_id).order_by(d.c.version.desc(), d.c.searchable.desc()).limit(1)
    with central.repo.engine.connect() as conn:
        row = conn.execute(query).first()
        if row is None:
            return None
        p = db.document_pages
        pages = conn.execute(select(p.c.page_id).where(p.c.document_id == row.document_id).order_by(p.c.position)).scalars().all()
    return DocumentRef(
        row.document_id,
        row.appliance_id,
        row.item_id,
        row.version,
        bool(row.searchable),
        row.file_name,
        row.blob_sha256,
        row.blob_kind,
        row.sealed_key,
        tuple(pages),
    )


def open_document(central: Central, item_id: str, actor: str = "archive office") -> tuple[DocumentRef, bytes]:
    """The item's current PDF, decrypted with central's HPKE key; audited, also when refused."""
    ref = current_document(central, item_id)
    if ref is None:
        audit.record(
            central.repo.engine,
            actor=actor,
            action=Action.EXPORT,
            target=item_id,
            outcome=Outcome.REFUSED,
            code=str(ErrorCode.DOCUMENT_NOT_FOUND),
        )
        raise AppError(ErrorCode.DOCUMENT_NOT_FOUND, item_id=item_id)
    audit.record(central.repo.engine, actor=actor, action=Action.EXPORT, target=ref.document_id, item=item_id, key_use="hpke")
    return ref, decrypt_document(central, ref)


def decrypt_document(central: Central, ref: DocumentRef) -> bytes:
    """The stored PDF decrypted in memory with central's HPKE key; the caller audits the read."""
    try:
        data = storage.get(central.store, ref.blob_sha256)
    except KeyError as exc:
        raise AppError(ErrorCode.KEY_MISSING, key=f"blob {ref.blob_sha256}") from exc
    return crypto.open_blob_central(
        data,
        crypto.unb64(ref.sealed_key),
        private_key=central.keys.hpke,
        appliance_id=ref.appliance_id,
        blob_id=ref.document_id,
        kind=ref.blob_kind,
    )


def summary(central: Central) -> dict[str, int]:
    """Items with a document at central, and how many of those are searchable."""
    d = db.documents
    with central.repo.engine.connect() as conn:
        rows = conn.execute(select(d.c.item_id, d.c.version, d.c.searchable)).all()
    best: dict[str, tuple[int, bool]] = {}
    for item_id, version, searchable in rows:
        best[item_id] = max(best.get(item_id, (0, False)), (version, bool(searchable)))
    return {"items_with_document": len(best), "searchable": sum(1 for _, s in best.values() if s)}


def notices(central: Central, since: str | None = None, actor: str = "archive office") -> list[dict[str, Any]]:
    """Filing notices as central received them (oldest first); `since` (UTC ISO) = received at or after."""
    n = db.notices
    query = select(n.c.record, n.c.received_at, n.c.appliance_id).order_by(n.c.received_at, n.c.notice_id)
    if since:
        query = query.where(n.c.received_at >= since)  # a client dedupes by notice_id; it never misses one
    with central.repo.engine.connect() as conn:
        rows = conn.execute(query).all()
    audit.record(central.repo.engine, actor=actor, action=Action.READ_NOTICES, target=since or "-", count=len(rows))
    return [{**json.loads(r.record), "received_at": r.received_at, "appliance_id": r.appliance_id} for r in rows]
