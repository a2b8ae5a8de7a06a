"""`edge purge`: crypto-shredding on record, once central holds the data and retention has passed.

A blob is shredded by destroying the only local wrap of its data key (`blobs.wrapped_local`
→ NULL) and removing its file; overwriting a file does not erase flash, but without the wrap
the ciphertext that may linger there cannot be opened with the appliance's KEK. The database
runs with `secure_delete=ON`, and the purge ends with a WAL checkpoint(TRUNCATE), so the old
wrap bytes do not survive in the database file or its write-ahead log either.

What is purged, and when:
- page blobs of an **acknowledged** batch, and the scans of the cover sheets of its items,
  `purge_after_days` after the acknowledgement (pages not yet filed to an item stay);
- quarantined files, `quarantine_retention_days` after they were quarantined (they never
  leave the appliance: the operator had that long to retry them);
- the kept copies of printed receipts and slips, `receipt_retention_days` after printing.

Every shredded blob is one audit row, and travels in the next sealed batch (`purged` in the
manifest; a batch is sealed for purge records alone) so central's record shows it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.db import write_tx
from juanzong.shared.errors import AppError, ErrorCode

# a page travels in its batch; a cover sheet's scan never travels: it goes with its item's batch
_ACKED_BLOBS = """SELECT b.id, b.kind, b.sha256 FROM blobs b JOIN pages p ON p.blob_id = b.id
    JOIN batches t ON t.id = COALESCE(p.batch_id, (SELECT i.batch_id FROM items i WHERE i.id = p.item_id))
    WHERE b.purged_at IS NULL AND t.state = 'acknowledged' AND t.acked_at <= ?"""
_OLD_QUARANTINE = """SELECT b.id, b.kind, b.sha256 FROM blobs b JOIN quarantine q ON q.blob_id = b.id
    WHERE b.purged_at IS NULL AND q.created_at <= ?"""


@dataclass(frozen=True)
class Retention:
    after_ack: timedelta
    quarantine: timedelta
    receipts: timedelta

    @classmethod
    def from_settings(cls, settings: Any) -> "Retention":
        return cls(timedelta(days=settings.purge_after_days), timedelta(days=settings.quarantine_retention_days),
                   timedelta(days=settings.receipt_retention_days))


@dataclass
class PurgeReport:
    blobs: list[str] = field(default_factory=list)
    quarantine: list[str] = field(default_factory=list)
    receipt_copies: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"purged_blobs": len(self.blobs), "purged_quarantine": len(self.quarantine),
                "receipt_copies_destroyed": self.receipt_copies, "blob_ids": self.blobs + self.quarantine}


def _iso(t: datetime) -> str:
    if t.tzinfo is None:
        raise AppError(ErrorCode.DATETIME_INVALID, text=t.isoformat())
    return t.isoformat(timespec="milliseconds")


def purge_due(db: Database, store: BlobStore, appliance_id: str, retention: Retention, now: datetime,
              actor: str = "system") -> PurgeReport:
    """Shred everything whose retention has passed at `now` (injected: tests never read the clock)."""
    report = PurgeReport()
    for row in db.execute(_ACKED_BLOBS, [_iso(now - retention.after_ack)]).fetchall():
        shred(db, store, appliance_id, row, now, actor, reason="acknowledged")
        report.blobs.append(row[0])
    for row in db.execute(_OLD_QUARANTINE, [_iso(now - retention.quarantine)]).fetchall():
        shred(db, store, appliance_id, row, now, actor, reason="quarantine_retention")
        report.quarantine.append(row[0])
    report.receipt_copies = _destroy_receipt_copies(db, appliance_id, _iso(now - retention.receipts), actor)
    if report.blobs or report.quarantine or report.receipt_copies:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the old wraps leave the WAL file too
    return report


def shred(db: Database, store: BlobStore, appliance_id: str, row: tuple, now: datetime, actor: str, reason: str) -> None:
    """Destroy one blob's local wrap and file, on record: the row first (durable), then the file."""
    blob_id, kind, sha256 = row
    with write_tx(db):
        db.execute("UPDATE blobs SET wrapped_local = NULL, purged_at = ? WHERE id = ? AND purged_at IS NULL",
                   [_iso(now), blob_id])
        audit.record(db, place=appliance_id, actor=actor, action="purge", target=blob_id, kind=kind,
                     sha256=sha256, reason=reason, key_use="kek wrap destroyed")
    store.path(blob_id).unlink(missing_ok=True)


def _destroy_receipt_copies(db: Database, appliance_id: str, before: str, actor: str) -> int:
    ids = [r[0] for r in db.execute("SELECT id FROM print_jobs WHERE copy IS NOT NULL AND state = 'printed' "
                                    "AND printed_at <= ?", [before]).fetchall()]
    if ids:
        with write_tx(db):
            db.execute(f"UPDATE print_jobs SET copy = NULL WHERE id IN ({','.join('?' * len(ids))})", ids)
            audit.record(db, place=appliance_id, actor=actor, action="purge", target="print_jobs", count=len(ids),
                         reason="receipt_retention")
    return len(ids)


def unreported(db: Database) -> list[dict[str, Any]]:
    """Purges not yet carried by a sealed batch (they make a batch due on their own)."""
    rows = db.execute("SELECT id, kind, sha256, purged_at FROM blobs WHERE purged_at IS NOT NULL "
                      "AND purge_batch_id IS NULL ORDER BY purged_at, id").fetchall()
    return [{"blob_id": r[0], "kind": r[1], "sha256": r[2], "purged_at": r[3]} for r in rows]
