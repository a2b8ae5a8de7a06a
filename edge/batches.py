"""Sealing batches: everything not yet sent becomes one signed manifest.

A batch is created at seal time from every intake, item and page that no batch
holds yet (pages waiting in the unassigned queue stay on the appliance until the
operator files them). In one transaction it gets the next sequence number of
this appliance, its canonical manifest and signature, and state `sealed`; the
outbox state machine then runs `sealed → acknowledged` (edge.sync.client).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from juanzong.edge import audit, purge
from juanzong.edge.keys import ApplianceKeys
from juanzong.edge.repo import batches as rows
from juanzong.edge.repo import write_tx
from juanzong.shared import clock, crypto
from juanzong.shared.audit import Action
from juanzong.shared.errors import AppError
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.manifest import (
    SCHEMA_VERSION,
    Acceptance,
    AuditHead,
    BlobKind,
    BlobRef,
    CatalogPlace,
    Document,
    Finding,
    Intake,
    Item,
    ItemQc,
    Manifest,
    Notice,
    NoticeKind,
    Page,
    PageRole,
    Purged,
    Receipt,
    Side,
    Signed,
    Suite,
    Volume,
    decode,
    sign,
)


def due(db: Database, idle_seconds: float, max_pages: int, now: datetime | None = None) -> bool:
    counts = rows.unbatched_counts(db)
    if not any(counts.values()):
        return False
    if counts["pages"] >= max_pages:
        return True
    last = rows.last_page_at(db)
    if last is None:
        return True  # only intakes/items: send them so central can reconcile
    now = now or clock.now()
    return (now - datetime.fromisoformat(last)).total_seconds() >= idle_seconds


def seal(db: Database, appliance_id: str, keys: ApplianceKeys) -> str | None:
    """Seal what is unbatched; returns the batch id, or None when there is nothing."""
    with write_tx(db):
        if not any(rows.unbatched_counts(db).values()):
            return None
        batch_id = new_id(Kind.BATCH)
        seq = rows.next_seq(db)
        now = clock.iso()
        rows.assign_unbatched(db, batch_id)
        purged = [Purged(**p) for p in purge.unreported(db)]
        rows.assign_unreported_purges(db, batch_id)
        manifest = build_manifest(db, appliance_id, batch_id, seq, now, purged)
        signed = sign(manifest, keys.signing)  # checked by the reader's decode before signing
        rows.insert_sealed(
            db,
            batch_id=batch_id,
            seq=seq,
            manifest=signed.body.decode("utf-8"),
            signature=signed.signature,
            manifest_sha256=signed.sha256,
            now=now,
        )
        audit.record(
            db,
            place=appliance_id,
            actor="system",
            action=Action.SEAL,
            target=batch_id,
            seq=seq,
            pages=len(manifest.pages),
            key_use="signing",
        )
    return batch_id


def build_manifest(
    db: Database, appliance_id: str, batch_id: str, seq: int, created_at: str, purged: list[Purged] | None = None
) -> Manifest:
    return Manifest(
        schema=SCHEMA_VERSION,
        appliance_id=appliance_id,
        batch_id=batch_id,
        seq=seq,
        created_at=created_at,
        intakes=[_intake_entry(r) for r in rows.intakes_of(db, batch_id)],
        items=[_item_entry(r) for r in rows.items_of(db, batch_id)],
        pages=[_page_entry(r) for r in rows.pages_of(db, batch_id)],
        audit_head=AuditHead(**audit.head(db)),
        central_head=_last_central_head(db),
        purged=purged or [],
        documents=[_document_entry(r) for r in rows.documents_of(db, batch_id)],
        notices=[_notice_entry(r) for r in rows.notices_of(db, batch_id)],
    )


def _last_central_head(db: Database) -> AuditHead | None:
    """Central's head from the newest receipt this appliance holds: central checks its chain still has it."""
    receipt = rows.latest_receipt(db)
    if receipt is None:
        return None
    try:
        return decode(Signed.from_wire(json.loads(receipt)).body, Receipt).central_head
    except (AppError, ValueError):
        return None  # `edge verify` reports a damaged receipt; sealing goes on


def _intake_entry(r: dict) -> Intake:
    return Intake(
        intake_id=r["id"],
        case_number=r["case_number"],
        case=json.loads(r["case_json"]),
        submitter=r["submitter"],
        received_at=r["received_at"],
        deadline=r["deadline"],
        urgent=bool(r["urgent"]),
        clerk=r["clerk"],
        deadline_provisional=bool(r["deadline_provisional"]),
    )


def _item_entry(r: dict) -> Item:
    return Item(
        item_id=r["id"],
        intake_id=r["intake_id"],
        seq=r["seq"],
        name=r["name"],
        declared_pages=r["declared_pages"],
        volume=Volume(r["volume"]),
        catalog_dir=r["catalog_dir"],
        original=bool(r["original"]),
        colour=bool(r["colour"]),
        closed=r["closed_at"] is not None,
        count_findings=[Finding(**f) for f in json.loads(r["count_findings"])],
        qc=_item_qc(r),
        discarded_pages=r["discarded_pages"],
    )


def _item_qc(r: dict) -> ItemQc | None:
    if not r["approved_at"]:
        return None
    return ItemQc(
        approved_by=r["approved_by"],
        approved_at=r["approved_at"],
        reason=r["approval_reason"],
        two_person=bool(r["two_person"]),
        checked_by=r["checked_by"],
        checked_at=r["checked_at"],
    )


def _page_entry(r: dict) -> Page:
    return Page(
        page_id=r["id"],
        item_id=r["item_id"],
        page_no=r["page_no"],
        side=Side(r["side"]),
        role=PageRole(r["role"]),
        replaces=r["replaces"],
        replaced_by=r["replaced_by"],
        source_name=r["source_name"],
        source_sha256=r["source_sha256"],
        source_size=r["source_size"],
        width=r["width"],
        height=r["height"],
        dpi=r["dpi"],
        mode=r["mode"],
        findings=[Finding(**f) for f in json.loads(r["findings"])],
        scanned_at=r["scanned_at"],
        accepted=[Acceptance(**a) for a in json.loads(r["accepted"])],
        rotation=r.get("rotation") or 0,
        discard_reason=r["discard_reason"],
        blob=BlobRef(
            sha256=r["b_sha"],
            size=r["b_size"],
            kind=BlobKind(r["b_kind"]),
            sealed_key=crypto.b64(r["sealed_central"]),
            suite=Suite(r["b_suite"]),
            sm3=r["b_sm3"],
        ),
    )


def _place(raw: str) -> CatalogPlace:
    p = json.loads(raw)
    return CatalogPlace(volume=Volume(p["volume"]), catalog_dir=p["catalog_dir"], catalog_seq=p["catalog_seq"], order=p["order"])


def _document_entry(r: dict) -> Document:
    return Document(
        document_id=r["id"],
        item_id=r["item_id"],
        version=r["version"],
        searchable=bool(r["searchable"]),
        page_ids=json.loads(r["page_ids"]),
        file_name=r["file_name"],
        place=_place(r["place"]),
        stamped_over_content=json.loads(r["over_content"]),
        created_at=r["created_at"],
        blob=BlobRef(
            sha256=r["b_sha"],
            size=r["b_size"],
            kind=BlobKind(r["b_kind"]),
            sealed_key=crypto.b64(r["sealed_central"]),
            suite=Suite(r["b_suite"]),
            sm3=r["b_sm3"],
        ),
    )


def _notice_entry(r: dict) -> Notice:
    return Notice(
        notice_id=r["id"],
        item_id=r["item_id"],
        document_id=r["document_id"],
        kind=NoticeKind(r["kind"]),
        case_number=r["case_number"],
        item_name=r["item_name"],
        place=_place(r["place"]),
        pages=r["pages"],
        created_at=r["created_at"],
    )
