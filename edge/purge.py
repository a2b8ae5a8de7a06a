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

from juanzong.edge import audit, repo
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.repo import blobs, print_jobs, write_tx
from juanzong.shared.audit import Action
from juanzong.shared.errors import AppError, ErrorCode


@dataclass(frozen=True)
class Retention:
    after_ack: timedelta
    quarantine: timedelta
    receipts: timedelta

    @classmethod
    def from_settings(cls, settings: Any) -> Retention:
        return cls(
            timedelta(days=settings.purge_after_days),
            timedelta(days=settings.quarantine_retention_days),
            timedelta(days=settings.receipt_retention_days),
        )


@dataclass
class PurgeReport:
    blobs: list[str] = field(default_factory=list)
    quarantine: list[str] = field(default_factory=list)
    receipt_copies: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "purged_blobs": len(self.blobs),
            "purged_quarantine": len(self.quarantine),
            "receipt_copies_destroyed": self.receipt_copies,
            "blob_ids": self.blobs + self.quarantine,
        }


def _iso(t: datetime) -> str:
    if t.tzinfo is None:
        raise AppError(ErrorCode.DATETIME_INVALID, text=t.isoformat())
    return t.isoformat(timespec="milliseconds")


def purge_due(db: Database, store: BlobStore, appliance_id: str, retention: Retention, now: datetime, actor: str = "system") -> PurgeReport:
    """Shred everything whose retention has passed at `now` (injected: tests never read the clock)."""
    report = PurgeReport()
    for row in blobs.acknowledged_before(db, _iso(now - retention.after_ack)):
        shred(db, store, appliance_id, row, now, actor, reason="acknowledged")
        report.blobs.append(row[0])
    for row in blobs.quarantined_before(db, _iso(now - retention.quarantine)):
        shred(db, store, appliance_id, row, now, actor, reason="quarantine_retention")
        report.quarantine.append(row[0])
    report.receipt_copies = _destroy_receipt_copies(db, appliance_id, _iso(now - retention.receipts), actor)
    if report.blobs or report.quarantine or report.receipt_copies:
        repo.checkpoint_truncate(db)  # the old wraps leave the WAL file too
    return report


def shred(db: Database, store: BlobStore, appliance_id: str, row: tuple, now: datetime, actor: str, reason: str) -> None:
    """Destroy one blob's local wrap and file, on record: the row first (durable), then the file."""
    blob_id, kind, sha256 = row
    with write_tx(db):
        blobs.mark_purged(db, blob_id, _iso(now))
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.PURGE,
            target=blob_id,
            kind=kind,
            sha256=sha256,
            reason=reason,
            key_use="kek wrap destroyed",
        )
    store.path(blob_id).unlink(missing_ok=True)


def _destroy_receipt_copies(db: Database, appliance_id: str, before: str, actor: str) -> int:
    ids = print_jobs.printed_copies_before(db, before)
    if ids:
        with write_tx(db):
            print_jobs.drop_copies(db, ids)
            audit.record(
                db, place=appliance_id, actor=actor, action=Action.PURGE, target="print_jobs", count=len(ids), reason="receipt_retention"
            )
    return len(ids)


def unreported(db: Database) -> list[dict[str, Any]]:
    """Purges not yet carried by a sealed batch (they make a batch due on their own)."""
    rows = blobs.unreported_purges(db)
    return [{"blob_id": r[0], "kind": r[1], "sha256": r[2], "purged_at": r[3]} for r in rows]
