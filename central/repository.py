"""The repository: every query central makes, behind one small class.

Services and reports call these methods and never build SQL, so the database
behind them (SQLite or PostgreSQL) is a URL in the settings. Every
read-then-write runs under a lock that holds across worker processes (see
`_lock_appliance`, `audit.append`). A batch is
stored in ONE transaction (batch row, intakes, items, pages); its receipt is
added afterwards, because a receipt may only be signed once the batch is
committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, case, func, insert, select, update

from juanzong.central import audit, db
from juanzong.central.receive.documents import store_entries as store_documents
from juanzong.shared import clock, crypto
from juanzong.shared.audit import Action
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import (
    AuditHead,
    Intake,
    Item,
    Manifest,
    Page,
    PageRole,
    QcCode,
    Side,
    Signed,
    canonical_json,
    decode,
    to_builtins,
)

# Page records are canonical JSON (no spaces): a QC finding the scanning point sent, and the role.
BLANK_FINDING = f'%"code":"{QcCode.BLANK.value}"%'  # a blank back side from duplex scanning: recorded, never counted
DISCARDED_ROLE = f'%"role":"{PageRole.DISCARDED.value}"%'  # taken out at the scanning point (edge discard) with a reason


def utc_now() -> str:
    return clock.iso("seconds")


@dataclass(frozen=True)
class Appliance:
    appliance_id: str
    signing_public: str  # base64 of the raw Ed25519 key
    profile: str
    name: str
    enrolled_at: str
    revoked_at: str | None = None
    revoked_reason: str | None = None
    cert_serials: str = ""


@dataclass(frozen=True)
class StoredBatch:
    batch_id: str
    appliance_id: str
    seq: int
    manifest_sha256: str
    received_at: str
    manifest: Signed
    receipt: Signed | None


@dataclass(frozen=True)
class PageRef:
    """What opening one page needs: where its blob is and how it was sealed."""

    page_id: str
    appliance_id: str
    blob_sha256: str
    blob_kind: str
    sealed_key: str
    source_sha256: str


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = db.writer(engine)

    # --- appliances -------------------------------------------------------------------------

    def appliance(self, appliance_id: str) -> Appliance | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.appliances).where(db.appliances.c.appliance_id == appliance_id)).first()
        return Appliance(**row._mapping) if row else None

    def add_appliance(self, appliance: Appliance) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(db.appliances).values(**appliance.__dict__))
            audit.append(conn, actor="archive office", action=Action.ENROLL, target=appliance.appliance_id, name=appliance.name)

    def revoke(self, appliance_id: str, reason: str, at: str) -> Appliance:
        """Mark an appliance revoked (audited); its certificates go on the CRL (central/tls.py)."""
        with self._writer.begin() as conn:
            t = db.appliances
            conn.execute(update(t).where(t.c.appliance_id == appliance_id).values(revoked_at=at, revoked_reason=reason))
            audit.append(conn, actor="archive office", action=Action.REVOKE, target=appliance_id, reason=reason)
        found = self.appliance(appliance_id)
        assert found is not None
        return found

    def add_cert_serial(self, appliance_id: str, serial: int) -> None:
        t = db.appliances
        with self._writer.begin() as conn:
            have = conn.execute(select(t.c.cert_serials).where(t.c.appliance_id == appliance_id)).scalar() or ""
            serials = " ".join(filter(None, [have, format(serial, "x")]))
            conn.execute(update(t).where(t.c.appliance_id == appliance_id).values(cert_serials=serials))
            audit.append(conn, actor="archive office", action=Action.CERTIFICATE, target=appliance_id, serial=format(serial, "x"))

    def renew_signing_key(self, appliance_id: str, signing_public: str, previous: str) -> None:
        """A new signing key for an enrolled appliance (its batches and sequence stay), audited."""
        with self._writer.begin() as conn:
            t = db.appliances
            conn.execute(update(t).where(t.c.appliance_id == appliance_id).values(signing_public=signing_public))
            audit.append(
                conn,
                actor="archive office",
                action=Action.ENROLL_RENEW,
                target=appliance_id,
                previous_signing_public=previous,
                signing_public=signing_public,
            )

    def appliances(self) -> list[Appliance]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.appliances).order_by(db.appliances.c.appliance_id)).all()
        return [Appliance(**r._mapping) for r in rows]

    # --- removable media ------------------------------------------------------------------

    def add_medium(
        self, medium_id: str, appliance_id: str, label: str, issued_at: str, valid_until: str, registration: Signed, actor: str
    ) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                insert(db.media).values(
                    medium_id=medium_id,
                    appliance_id=appliance_id,
                    label=label,
                    issued_at=issued_at,
                    valid_until=valid_until,
                    registration=registration.body,
                )
            )
            audit.append(
                conn,
                actor=actor,
                action=Action.MEDIA_REGISTER,
                target=medium_id,
                appliance_id=appliance_id,
                label=label,
                valid_until=valid_until,
                key_use="central signature",
            )

    def medium(self, medium_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.media).where(db.media.c.medium_id == medium_id)).first()
        return dict(row._mapping) if row else None

    def add_media_import(self, row: dict[str, Any], actor: str, batches: dict[str, Any] | None = None) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(db.media_imports).values(**row))
            audit.append(
                conn,
                actor=actor,
                action=Action.MEDIA_IMPORT,
                target=row["medium_id"],
                appliance_id=row["appliance_id"],
                toc_sha256=row["toc_sha256"],
                new=row["new_batches"],
                replayed=row["replayed_batches"],
                refused=row["refused_batches"],
                batches=batches or {},
            )

    def last_media_imports(self) -> dict[str, str]:
        """{appliance_id: time of its last media import}: the air-gapped points and their last carry."""
        t = db.media_imports
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.appliance_id, func.max(t.c.imported_at)).group_by(t.c.appliance_id)).all()
        return {r[0]: r[1] for r in rows}

    # --- batches ----------------------------------------------------------------------------

    def batch(self, batch_id: str) -> StoredBatch | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.batches).where(db.batches.c.batch_id == batch_id)).first()
        return _stored_batch(row._mapping) if row else None

    def last_batch(self, appliance_id: str) -> StoredBatch | None:
        """The appliance's batch with the highest sequence number."""
        t = db.batches
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.appliance_id == appliance_id).order_by(t.c.seq.desc()).limit(1)).first()
        return _stored_batch(row._mapping) if row else None

    def batch_at_seq(self, appliance_id: str, seq: int) -> str | None:
        t = db.batches
        with self.engine.connect() as conn:
            return conn.execute(select(t.c.batch_id).where(t.c.appliance_id == appliance_id, t.c.seq == seq)).scalar()

    def store_batch(self, doc: Manifest, signed: Signed, received_at: str) -> tuple[int, int]:
        """Batch, intakes, items and pages in one transaction; returns (new pages, seq numbers skipped).

        Raises sqlalchemy IntegrityError when the batch id or its sequence number
        is taken (a concurrent replay): the caller re-reads and decides.
        """
        with self._writer.begin() as conn:
            _lock_appliance(conn, doc.appliance_id)
            gap = _gap_before(conn, doc.appliance_id, doc.seq)
            conn.execute(insert(db.batches).values(_batch_row(doc, signed, received_at, gap)))
            for intake in doc.intakes:
                _upsert(conn, db.intakes, "intake_id", _intake_row(intake), doc)
            for item in doc.items:
                _upsert(conn, db.items, "item_id", _item_row(item), doc)
            new_pages = sum(_upsert(conn, db.pages, "page_id", _page_row(page), doc) for page in doc.pages)
            store_documents(conn, doc, received_at)
            conn.execute(update(db.batches).where(db.batches.c.batch_id == doc.batch_id).values(new_pages=new_pages))
            audit.append(
                conn,
                actor=doc.appliance_id,
                action=Action.SYNC,
                target=doc.batch_id,
                seq=doc.seq,
                pages=len(doc.pages),
                new_pages=new_pages,
                key_use="appliance signature verified",
                appliance_head=to_builtins(doc.audit_head),
            )
            if doc.purged:  # crypto-shredded on the appliance: on central's record as well
                audit.append(
                    conn,
                    actor=doc.appliance_id,
                    action=Action.PURGE_REPORTED,
                    target=doc.batch_id,
                    blobs=[p.blob_id for p in doc.purged],
                    purged_at=[p.purged_at for p in doc.purged],
                )
        return new_pages, gap

    def witnessed_central_heads(self) -> list[tuple[str, AuditHead]]:
        """Per appliance: central's head it handed back in its newest manifest (signed by the appliance)."""
        t = db.batches
        newest = select(t.c.appliance_id, func.max(t.c.seq).label("seq")).group_by(t.c.appliance_id).subquery()
        query = select(t.c.appliance_id, t.c.manifest).join(newest, (t.c.appliance_id == newest.c.appliance_id) & (t.c.seq == newest.c.seq))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        out = []
        for appliance_id, body in rows:
            witnessed = decode(body, Manifest).central_head
            if witnessed is not None:
                out.append((appliance_id, witnessed))
        return out

    def set_receipt(self, batch_id: str, receipt: Signed) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                update(db.batches)
                .where(db.batches.c.batch_id == batch_id)
                .values(receipt=receipt.body, receipt_signature=receipt.signature)
            )

    def batch_sequences(self) -> dict[str, list[tuple[int, int, int]]]:
        """Per appliance: (seq, pages, gap_before) of every batch, in seq order."""
        t = db.batches
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.appliance_id, t.c.seq, t.c.page_count, t.c.gap_before).order_by(t.c.appliance_id, t.c.seq))
            out: dict[str, list[tuple[int, int, int]]] = {}
            for r in rows:
                out.setdefault(r.appliance_id, []).append((r.seq, r.page_count, r.gap_before))
        return out

    def batch_rows(self) -> list[dict[str, Any]]:
        """Every batch received, per appliance in sequence order: id, seq, when, pages declared in it, new pages."""
        t = db.batches
        query = select(t.c.batch_id, t.c.appliance_id, t.c.seq, t.c.received_at, t.c.page_count, t.c.new_pages)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(t.c.appliance_id, t.c.seq))]

    def pages_per_batch(self) -> dict[str, tuple[int, int, int]]:
        """Per batch (the one that brought each page row's current version): pages, of those without an item
        and still waiting for one, of those discarded at the scanning point."""
        p, i = db.pages, db.items
        discarded = p.c.record.like(DISCARDED_ROLE)
        waiting = and_(i.c.item_id.is_(None), ~discarded)
        query = (
            select(p.c.batch_id, func.count(), func.count(case((waiting, 1))), func.count(case((discarded, 1))))
            .select_from(p.outerjoin(i, i.c.item_id == p.c.item_id))
            .group_by(p.c.batch_id)
        )
        with self.engine.connect() as conn:
            return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(query)}

    # --- intakes, items, pages ----------------------------------------------------------------

    def owners(self, table_name: str, ids: set[str]) -> dict[str, str]:
        """{id: appliance_id} of the given intake, item or page ids already stored."""
        table, key = {
            "intakes": (db.intakes, db.intakes.c.intake_id),
            "items": (db.items, db.items.c.item_id),
            "pages": (db.pages, db.pages.c.page_id),
            "documents": (db.documents, db.documents.c.document_id),
            "notices": (db.notices, db.notices.c.notice_id),
        }[table_name]
        with self.engine.connect() as conn:
            rows = conn.execute(select(key, table.c.appliance_id).where(key.in_(ids))).all() if ids else []
        return {r[0]: r[1] for r in rows}

    def intakes(self) -> list[dict[str, Any]]:
        t = db.intakes
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.received_at, t.c.intake_id)).all()
        return [dict(r._mapping) for r in rows]

    def items_with_received(self) -> list[dict[str, Any]]:
        """Every item with its page rows counted: numbered pages that count against the declared
        ones, blank back sides (numbered, never counted), distinct page numbers, highest page number."""
        i, p = db.items, db.pages
        blank_back = and_(p.c.page_no.is_not(None), p.c.side == Side.VERSO, p.c.record.like(BLANK_FINDING))
        counts = (
            # a page replaced by a rescan arrives again without a number: not counted
            (func.count(p.c.page_no) - func.count(case((blank_back, 1)))).label("received_pages"),
            func.count(case((blank_back, 1))).label("blank_backs"),
            func.count(p.c.page_no.distinct()).label("distinct_page_nos"),
            func.coalesce(func.max(p.c.page_no), 0).label("max_page_no"),
        )
        query = select(i, *counts).select_from(i.outerjoin(p, p.c.item_id == i.c.item_id)).group_by(i.c.item_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(i.c.intake_id, i.c.seq, i.c.item_id)).all()
        return [dict(r._mapping) for r in rows]

    def pages_with_qc_decisions(self) -> list[dict[str, Any]]:
        """Pages the QC station kept despite a finding (`accepted`, with reasons) or discarded with a reason.

        The decisions travel inside the page record (shared.manifest.Page); the canonical JSON
        has no spaces, so a non-empty list or a set reason is found by its text."""
        p, i, n = db.pages, db.items, db.intakes
        decided = p.c.record.like('%"accepted":[{%') | p.c.record.like('%"discard_reason":"%')
        query = (
            select(p.c.page_id, p.c.page_no, p.c.record, i.c.item_id, i.c.name, n.c.case_number)
            .select_from(p.outerjoin(i, i.c.item_id == p.c.item_id).outerjoin(n, n.c.intake_id == i.c.intake_id))
            .where(decided)
            .order_by(n.c.case_number, i.c.intake_id, i.c.seq, p.c.page_no, p.c.page_id)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def notices_by_item(self, item_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Filing notices (入卷提醒) central received for these items, oldest first, as the appliance sent them."""
        n = db.notices
        query = select(n.c.item_id, n.c.record, n.c.received_at).where(n.c.item_id.in_(item_ids)).order_by(n.c.received_at)
        out: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(query) if item_ids else ():
                out.setdefault(r.item_id, []).append({**json.loads(r.record), "received_at": r.received_at})
        return out

    def unattached_pages(self) -> tuple[int, int]:
        """(waiting, discarded): pages with no item, still waiting for one, and those discarded
        at the scanning point (`edge discard`) — recorded there, counted here."""
        p, i = db.pages, db.items
        discarded = p.c.record.like(DISCARDED_ROLE)
        # an anti-join (NOT IN cannot become one on PostgreSQL): pages with no item row, or none at all
        query = (
            select(func.count() - func.count(case((discarded, 1))), func.count(case((discarded, 1))))
            .select_from(p.outerjoin(i, i.c.item_id == p.c.item_id))
            .where(i.c.item_id.is_(None))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return int(row[0] or 0), int(row[1] or 0)

    def duplicate_sources(self) -> int:
        """Page rows whose scanned file (source hash) is already stored under another page id."""
        p = db.pages
        # DISTINCT in a subquery walks the source index; count(DISTINCT …) would sort every row
        distinct = select(func.count()).select_from(select(p.c.source_sha256).distinct().subquery()).scalar_subquery()
        query = select(func.count() - distinct).select_from(p)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def page_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(db.pages)).scalar() or 0)

    def page(self, page_id: str) -> PageRef | None:
        with self.engine.connect() as conn:
            row = conn.execute(_page_ref_query().where(db.pages.c.page_id == page_id)).first()
        return PageRef(**row._mapping) if row else None

    def blob_referenced(self, sha256: str) -> bool:
        p = db.pages
        with self.engine.connect() as conn:
            return conn.execute(select(p.c.page_id).where(p.c.blob_sha256 == sha256).limit(1)).first() is not None

    def page_refs_by_blob(self) -> Iterator[PageRef]:
        """Every page, in blob-hash order (the order the blob store lists its names)."""
        yield from self._stream_refs(db.pages.c.blob_sha256, db.pages.c.page_id)

    def _stream_refs(self, *order: Any) -> Iterator[PageRef]:
        # a server-side cursor on PostgreSQL: a province's page table never sits in memory at once
        with self.engine.connect().execution_options(stream_results=True, yield_per=2000) as conn:
            for row in conn.execute(_page_ref_query().order_by(*order)):
                yield PageRef(**row._mapping)


def _stored_batch(m: Any) -> StoredBatch:
    receipt = Signed(m["receipt"], m["receipt_signature"]) if m["receipt"] is not None else None
    return StoredBatch(
        batch_id=m["batch_id"],
        appliance_id=m["appliance_id"],
        seq=m["seq"],
        manifest_sha256=m["manifest_sha256"],
        received_at=m["received_at"],
        manifest=Signed(m["manifest"], m["signature"]),
        receipt=receipt,
    )


def _lock_appliance(conn: Connection, appliance_id: str) -> None:
    """One batch of an appliance at a time, across workers: its sequence check and
    its upserts read, then write (a row lock on PostgreSQL; SQLite's write lock covers it)."""
    t = db.appliances
    conn.execute(select(t.c.appliance_id).where(t.c.appliance_id == appliance_id).with_for_update())


def _gap_before(conn: Connection, appliance_id: str, seq: int) -> int:
    """How many sequence numbers were skipped since the highest one received so far.

    Checked again here, under the appliance's lock: two manifests of one appliance
    racing on two workers can each pass the service's early check, but only one
    order of commits is allowed — rising sequence numbers."""
    t = db.batches
    highest = conn.execute(select(func.max(t.c.seq)).where(t.c.appliance_id == appliance_id)).scalar()
    if highest is not None and seq < highest:
        raise AppError(ErrorCode.MANIFEST_SEQ_BACKWARDS, appliance_id=appliance_id, seq=seq, last=highest)
    previous = 0 if highest is None else highest
    return max(0, seq - previous - 1)


def _upsert(conn: Connection, table: Table, key: str, row: dict[str, Any], doc: Manifest) -> bool:
    """Insert a new row (True); a later batch may replace an existing row's content; never a second row."""
    row = {**row, "appliance_id": doc.appliance_id, "batch_id": doc.batch_id, "batch_seq": doc.seq}
    have = conn.execute(select(table.c.appliance_id, table.c.record, table.c.batch_seq).where(table.c[key] == row[key])).first()
    if have is None:
        conn.execute(insert(table).values(row))
        return True
    if have.appliance_id != doc.appliance_id:  # checks.py refused this already; the transaction re-checks
        raise AppError(ErrorCode.MANIFEST_RECORD_FOREIGN, record_id=row[key], count=1)
    if have.record != row["record"] and doc.seq >= have.batch_seq:
        conn.execute(update(table).where(table.c[key] == row[key]).values(row))
    return False


def _record(obj: Intake | Item | Page) -> str:
    return canonical_json(obj).decode("utf-8")


def _batch_row(doc: Manifest, signed: Signed, received_at: str, gap: int) -> dict[str, Any]:
    return {
        "batch_id": doc.batch_id,
        "appliance_id": doc.appliance_id,
        "seq": doc.seq,
        "manifest": signed.body,
        "signature": signed.signature,
        "manifest_sha256": signed.sha256,
        "page_count": len(doc.pages),
        "new_pages": 0,
        "gap_before": gap,
        "received_at": received_at,
    }


def _intake_row(intake: Intake) -> dict[str, Any]:
    return {
        "intake_id": intake.intake_id,
        "case_number": intake.case_number,
        "submitter": intake.submitter,
        "received_at": intake.received_at,
        "deadline": intake.deadline,
        "urgent": intake.urgent,
        "record": _record(intake),
    }


def _item_row(item: Item) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "intake_id": item.intake_id,
        "seq": item.seq,
        "name": item.name,
        "declared_pages": item.declared_pages,
        "volume": str(item.volume),
        "record": _record(item),
    }


def _page_row(page: Page) -> dict[str, Any]:
    record = _record(page)
    blob = page.blob
    return {
        "page_id": page.page_id,
        "item_id": page.item_id,
        "page_no": page.page_no,
        "side": str(page.side),
        "source_sha256": page.source_sha256,
        "blob_sha256": blob.sha256,
        "blob_size": blob.size,
        "blob_kind": str(blob.kind),
        "sealed_key": blob.sealed_key,
        "record": record,
        "record_sha256": crypto.sha256_hex(record.encode("utf-8")),
    }


def _page_ref_query() -> Any:
    p = db.pages
    return select(p.c.page_id, p.c.appliance_id, p.c.blob_sha256, p.c.blob_kind, p.c.sealed_key, p.c.source_sha256)
