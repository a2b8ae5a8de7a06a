"""Sealing batches: everything not yet sent becomes one signed manifest.

A batch is created at seal time from every intake, item and page that no batch
holds yet (pages waiting in the unassigned queue stay on the appliance until the
operator files them). In one transaction it gets the next sequence number of
this appliance, its canonical manifest and signature, and state `sealed`; the
outbox state machine then runs `sealed → acknowledged` (edge.sync.client).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from sqlite_utils import Database

from juanzong.edge import audit, purge
from juanzong.edge.db import write_tx
from juanzong.edge.keys import ApplianceKeys
from juanzong.shared import crypto
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.errors import AppError
from juanzong.shared.manifest import (
    SCHEMA_VERSION, Suite, Acceptance, AuditHead, BlobKind, BlobRef, Finding, Intake, Item, ItemQc, Manifest, Page, PageRole,
    Purged, Receipt, Side, Signed, Volume, decode, sign,
)

# a replaced page travels again, numberless, so central stops counting it
# a discarded one too, numberless, with its reason (QC station)
_PAGES_UNBATCHED = "role IN ('page', 'replaced', 'discarded') AND item_id IS NOT NULL AND batch_id IS NULL"


def unbatched_counts(db: Database) -> dict[str, int]:
    q = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "intakes": q("SELECT COUNT(*) FROM intakes WHERE batch_id IS NULL"),
        "items": q("SELECT COUNT(*) FROM items WHERE batch_id IS NULL"),
        "pages": q(f"SELECT COUNT(*) FROM pages WHERE {_PAGES_UNBATCHED}"),
        "purged": q("SELECT COUNT(*) FROM blobs WHERE purged_at IS NOT NULL AND purge_batch_id IS NULL"),
    }


def last_page_at(db: Database) -> str | None:
    return db.execute(f"SELECT MAX(scanned_at) FROM pages WHERE {_PAGES_UNBATCHED}").fetchone()[0]


def due(db: Database, idle_seconds: float, max_pages: int, now: datetime | None = None) -> bool:
    counts = unbatched_counts(db)
    if not any(counts.values()):
        return False
    if counts["pages"] >= max_pages:
        return True
    last = last_page_at(db)
    if last is None:
        return True  # only intakes/items: send them so central can reconcile
    now = now or datetime.now(timezone.utc)
    return (now - datetime.fromisoformat(last)).total_seconds() >= idle_seconds


def seal(db: Database, appliance_id: str, keys: ApplianceKeys) -> str | None:
    """Seal what is unbatched; returns the batch id, or None when there is nothing."""
    with write_tx(db):
        if not any(unbatched_counts(db).values()):
            return None
        batch_id = new_id(Kind.BATCH)
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches").fetchone()[0]
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        db.execute(f"UPDATE pages SET batch_id = ? WHERE {_PAGES_UNBATCHED}", [batch_id])
        db.execute("UPDATE items SET batch_id = ? WHERE batch_id IS NULL", [batch_id])
        db.execute("UPDATE intakes SET batch_id = ? WHERE batch_id IS NULL", [batch_id])
        purged = [Purged(**p) for p in purge.unreported(db)]
        db.execute("UPDATE blobs SET purge_batch_id = ? WHERE purged_at IS NOT NULL AND purge_batch_id IS NULL", [batch_id])
        manifest = build_manifest(db, appliance_id, batch_id, seq, now, purged)
        signed = sign(manifest, keys.signing)  # checked by the reader's decode before signing
        db.execute(
            "INSERT INTO batches(id, seq, state, manifest, signature, manifest_sha256, created_at, sealed_at) VALUES (?,?,?,?,?,?,?,?)",
            [batch_id, seq, "sealed", signed.body.decode("utf-8"), signed.signature, signed.sha256, now, now],
        )
        audit.record(db, place=appliance_id, actor="system", action="seal", target=batch_id,
                     seq=seq, pages=len(manifest.pages), key_use="signing")
    return batch_id


_PAGES_SQL = """SELECT p.*, b.sha256 AS b_sha, b.size AS b_size, b.kind AS b_kind, b.sealed_central,
    b.suite AS b_suite, b.sm3 AS b_sm3
    FROM pages p JOIN blobs b ON b.id = p.blob_id WHERE p.batch_id = :b ORDER BY p.item_id, p.page_no"""
# Items and intakes a batch's pages refer to travel again with it, so every
# manifest is self-contained for central (it upserts them).
_ITEMS_SQL = """SELECT i.*, (SELECT COUNT(*) FROM pages d WHERE d.item_id = i.id AND d.role = 'discarded') AS discarded_pages
    FROM items i WHERE i.batch_id = :b OR i.id IN (SELECT item_id FROM pages WHERE batch_id = :b) ORDER BY i.intake_id, i.seq"""
_INTAKES_SQL = """SELECT * FROM intakes WHERE batch_id = :b OR id IN (SELECT intake_id FROM items
    WHERE batch_id = :b OR id IN (SELECT item_id FROM pages WHERE batch_id = :b)) ORDER BY received_at, id"""


def build_manifest(db: Database, appliance_id: str, batch_id: str, seq: int, created_at: str,
                   purged: list[Purged] | None = None) -> Manifest:
    params = {"b": batch_id}
    return Manifest(
        schema=SCHEMA_VERSION, appliance_id=appliance_id, batch_id=batch_id, seq=seq, created_at=created_at,
        intakes=[_intake_entry(r) for r in _rows(db, _INTAKES_SQL, params)],
        items=[_item_entry(r) for r in _rows(db, _ITEMS_SQL, params)],
        pages=[_page_entry(r) for r in _rows(db, _PAGES_SQL, params)],
        audit_head=AuditHead(**audit.head(db)),
        central_head=_last_central_head(db),
        purged=purged or [],
    )


def _rows(db: Database, sql: str, params: dict) -> list[dict]:
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def _last_central_head(db: Database) -> AuditHead | None:
    """Central's head from the newest receipt this appliance holds: central checks its chain still has it."""
    row = db.execute("SELECT receipt FROM batches WHERE receipt IS NOT NULL ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return None
    try:
        return decode(Signed.from_wire(json.loads(row[0])).body, Receipt).central_head
    except (AppError, ValueError):
        return None  # `edge verify` reports a damaged receipt; sealing goes on


def _intake_entry(r: dict) -> Intake:
    return Intake(intake_id=r["id"], case_number=r["case_number"], case=json.loads(r["case_json"]),
                  submitter=r["submitter"], received_at=r["received_at"], deadline=r["deadline"],
                  urgent=bool(r["urgent"]), clerk=r["clerk"], deadline_provisional=bool(r["deadline_provisional"]))


def _item_entry(r: dict) -> Item:
    return Item(item_id=r["id"], intake_id=r["intake_id"], seq=r["seq"], name=r["name"],
                declared_pages=r["declared_pages"], volume=Volume(r["volume"]), catalog_dir=r["catalog_dir"],
                original=bool(r["original"]), colour=bool(r["colour"]), closed=r["closed_at"] is not None,
                count_findings=[Finding(**f) for f in json.loads(r["count_findings"])], qc=_item_qc(r),
                discarded_pages=r["discarded_pages"])


def _item_qc(r: dict) -> ItemQc | None:
    if not r["approved_at"]:
        return None
    return ItemQc(approved_by=r["approved_by"], approved_at=r["approved_at"], reason=r["approval_reason"],
                  two_person=bool(r["two_person"]), checked_by=r["checked_by"], checked_at=r["checked_at"])


def _page_entry(r: dict) -> Page:
    return Page(
        page_id=r["id"], item_id=r["item_id"], page_no=r["page_no"], side=Side(r["side"]), role=PageRole(r["role"]),
        replaces=r["replaces"], replaced_by=r["replaced_by"],
        source_name=r["source_name"], source_sha256=r["source_sha256"], source_size=r["source_size"],
        width=r["width"], height=r["height"], dpi=r["dpi"], mode=r["mode"],
        findings=[Finding(**f) for f in json.loads(r["findings"])], scanned_at=r["scanned_at"],
        accepted=[Acceptance(**a) for a in json.loads(r["accepted"])], rotation=r.get("rotation") or 0,
        discard_reason=r["discard_reason"],
        blob=BlobRef(sha256=r["b_sha"], size=r["b_size"], kind=BlobKind(r["b_kind"]),
                     sealed_key=crypto.b64(r["sealed_central"]), suite=Suite(r["b_suite"]), sm3=r["b_sm3"]),
    )
