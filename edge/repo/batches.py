"""Batches: what is sealed into one signed manifest, and the outbox state of each.

A batch takes every intake, item and page no batch holds yet (pages in the
unassigned queue wait). Its state runs `sealed → acknowledged`, or `rejected`
when central refuses it for good; failures keep `sealed` with a back-off time.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from juanzong.edge.ingest.context import PageRole
from juanzong.edge.repo._rows import dicts


class BatchState(StrEnum):
    """The outbox state machine: sealed → acknowledged, or rejected for a person to look at."""

    SEALED = "sealed"  # signed, waiting for central's receipt (retried with back-off)
    ACKNOWLEDGED = "acknowledged"  # central's signed receipt verified
    REJECTED = "rejected"  # central refused it for good


# pages that travel: a replaced page travels again, numberless, so central stops counting it;
# a discarded one too (QC station), numberless, with its reason
# unassigned pages (item_id NULL) travel too: central counts what waits on every appliance; filed
# into an item later, a page is unbatched again and travels with its item (issue 8)
_PAGES_UNBATCHED = "role IN (:page, :replaced, :discarded) AND batch_id IS NULL"
_ROLES = {"page": PageRole.PAGE, "replaced": PageRole.REPLACED, "discarded": PageRole.DISCARDED}


def unbatched_counts(db: Database) -> dict[str, int]:
    def count(sql: str) -> int:
        return int(db.execute(sql, _ROLES if ":page" in sql else {}).fetchone()[0])

    return {
        "intakes": count("SELECT COUNT(*) FROM intakes WHERE batch_id IS NULL"),
        "items": count("SELECT COUNT(*) FROM items WHERE batch_id IS NULL"),
        "pages": count(f"SELECT COUNT(*) FROM pages WHERE {_PAGES_UNBATCHED}"),
        "purged": count("SELECT COUNT(*) FROM blobs WHERE purged_at IS NOT NULL AND purge_batch_id IS NULL"),
        "documents": count("SELECT COUNT(*) FROM documents WHERE batch_id IS NULL"),
        "notices": count("SELECT COUNT(*) FROM notices WHERE batch_id IS NULL"),
    }


def last_page_at(db: Database) -> str | None:
    """When the newest page waiting for a batch was scanned."""
    return db.execute(f"SELECT MAX(scanned_at) FROM pages WHERE {_PAGES_UNBATCHED}", _ROLES).fetchone()[0]


def count_in_state(db: Database, state: BatchState) -> int:
    return db.execute("SELECT COUNT(*) FROM batches WHERE state = ?", [state]).fetchone()[0]


def next_seq(db: Database) -> int:
    return int(db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches").fetchone()[0])


def assign_unbatched(db: Database, batch_id: str) -> None:
    """Everything no batch holds yet now belongs to this one (inside the sealing transaction)."""
    db.execute(f"UPDATE pages SET batch_id = :batch WHERE {_PAGES_UNBATCHED}", {"batch": batch_id, **_ROLES})
    db.execute("UPDATE items SET batch_id = ? WHERE batch_id IS NULL", [batch_id])
    db.execute("UPDATE intakes SET batch_id = ? WHERE batch_id IS NULL", [batch_id])
    # a document superseded before it was ever sent (image-only, then searchable) rides
    # along as batched but is not listed (documents_of): central only needs what is current
    db.execute("UPDATE documents SET batch_id = ? WHERE batch_id IS NULL", [batch_id])
    db.execute("UPDATE notices SET batch_id = ? WHERE batch_id IS NULL", [batch_id])


def assign_unreported_purges(db: Database, batch_id: str) -> None:
    """Purges not yet reported to central are reported by this batch."""
    db.execute("UPDATE blobs SET purge_batch_id = ? WHERE purged_at IS NOT NULL AND purge_batch_id IS NULL", [batch_id])


def insert_sealed(db: Database, *, batch_id: str, seq: int, manifest: str, signature: str, manifest_sha256: str, now: str) -> None:
    db.execute(
        "INSERT INTO batches(id, seq, state, manifest, signature, manifest_sha256, created_at, sealed_at) VALUES (?,?,?,?,?,?,?,?)",
        [batch_id, seq, BatchState.SEALED, manifest, signature, manifest_sha256, now, now],
    )


def manifest(db: Database, batch_id: str) -> str | None:
    row = db.execute("SELECT manifest FROM batches WHERE id = ?", [batch_id]).fetchone()
    return row[0] if row else None


# Items and intakes a batch's pages refer to travel again with it, so every
# manifest is self-contained for central (it upserts them).
def pages_of(db: Database, batch_id: str) -> list[dict[str, Any]]:
    """Every page column plus its blob's sha256, size, kind, sealed_central, suite and SM3
    (b_sha, b_size, b_kind, sealed_central, b_suite, b_sm3)."""
    return dicts(
        db,
        """SELECT p.*, b.sha256 AS b_sha, b.size AS b_size, b.kind AS b_kind, b.sealed_central,
        b.suite AS b_suite, b.sm3 AS b_sm3 FROM pages p JOIN blobs b ON b.id = p.blob_id WHERE p.batch_id = :b ORDER BY p.item_id, p.page_no""",
        {"b": batch_id},
    )


# the items whose pages, documents or notices are in the batch
_BATCH_ITEMS = """SELECT item_id FROM pages WHERE batch_id = :b UNION SELECT item_id FROM documents WHERE batch_id = :b
    UNION SELECT item_id FROM notices WHERE batch_id = :b"""


def items_of(db: Database, batch_id: str) -> list[dict[str, Any]]:
    return dicts(
        db,
        f"""SELECT i.*, (SELECT COUNT(*) FROM pages d WHERE d.item_id = i.id AND d.role = :discarded) AS discarded_pages
        FROM items i WHERE i.batch_id = :b OR i.id IN ({_BATCH_ITEMS}) ORDER BY i.intake_id, i.seq""",
        {"b": batch_id, "discarded": PageRole.DISCARDED},
    )


def intakes_of(db: Database, batch_id: str) -> list[dict[str, Any]]:
    return dicts(
        db,
        f"""SELECT * FROM intakes WHERE batch_id = :b OR id IN (SELECT intake_id FROM items
        WHERE batch_id = :b OR id IN ({_BATCH_ITEMS})) ORDER BY received_at, id""",
        {"b": batch_id},
    )


def documents_of(db: Database, batch_id: str) -> list[dict[str, Any]]:
    """The batch's current documents (superseded ones never travel) with their blob columns as pages_of."""
    return dicts(
        db,
        """SELECT d.*, b.sha256 AS b_sha, b.size AS b_size, b.kind AS b_kind, b.sealed_central,
        b.suite AS b_suite, b.sm3 AS b_sm3 FROM documents d JOIN blobs b ON b.id = d.blob_id
        WHERE d.batch_id = :b AND d.superseded_by IS NULL ORDER BY d.item_id, d.version""",
        {"b": batch_id},
    )


def notices_of(db: Database, batch_id: str) -> list[dict[str, Any]]:
    return dicts(db, "SELECT * FROM notices WHERE batch_id = :b ORDER BY created_at, id", {"b": batch_id})


def latest_receipt(db: Database) -> str | None:
    """The receipt (wire JSON) of the newest acknowledged batch, or None."""
    row = db.execute("SELECT receipt FROM batches WHERE receipt IS NOT NULL ORDER BY seq DESC LIMIT 1").fetchone()
    return row[0] if row else None


def due(db: Database, now_iso: str) -> list[dict[str, Any]]:
    """Sealed batches whose turn has come, oldest first, up to the first one still waiting
    out its back-off: central takes an appliance's batches only in rising sequence, so a
    later batch never overtakes an earlier one."""
    rows = dicts(
        db,
        "SELECT id, seq, manifest, signature, manifest_sha256, attempts, next_try_at FROM batches WHERE state = ? ORDER BY seq",
        [BatchState.SEALED],
    )
    turn = []
    for row in rows:
        if (row.pop("next_try_at") or "") > now_iso:
            break
        turn.append(row)
    return turn


def mark_acknowledged(db: Database, batch_id: str, receipt_json: str, acked_at: str) -> None:
    db.execute(
        "UPDATE batches SET state = ?, receipt = ?, acked_at = ?, last_error = NULL WHERE id = ?",
        [BatchState.ACKNOWLEDGED, receipt_json, acked_at, batch_id],
    )


def mark_failed(db: Database, batch_id: str, *, rejected: bool, attempts: int, error: str, next_try_at: str) -> None:
    """Another failed attempt: back to `sealed` with a back-off, or parked as `rejected`."""
    db.execute(
        "UPDATE batches SET state = ?, attempts = ?, last_error = ?, next_try_at = ? WHERE id = ?",
        [BatchState.REJECTED if rejected else BatchState.SEALED, attempts, error, next_try_at, batch_id],
    )


def overview(db: Database) -> list[tuple]:
    """(id, seq, state, manifest, attempts, last_error, sealed_at, acked_at) of every batch."""
    return db.execute("SELECT id, seq, state, manifest, attempts, last_error, sealed_at, acked_at FROM batches ORDER BY seq").fetchall()


def sealed(db: Database) -> list[dict[str, Any]]:
    """Every batch still waiting for central's receipt (id, seq, manifest, signature, manifest_sha256)."""
    return dicts(db, "SELECT id, seq, manifest, signature, manifest_sha256 FROM batches WHERE state = ? ORDER BY seq", [BatchState.SEALED])


def sealed_overview(db: Database) -> list[dict[str, Any]]:
    """Batches waiting for central's receipt, oldest first: id, seq, sealed_at and their page count."""
    rows = db.execute("SELECT id, seq, sealed_at, manifest FROM batches WHERE state = ? ORDER BY seq", [BatchState.SEALED]).fetchall()
    return [{"id": r[0], "seq": r[1], "sealed_at": r[2], "pages": len(json.loads(r[3]).get("pages", []))} for r in rows]


def receipt_check(db: Database, batch_id: str) -> tuple[str, str, str] | None:
    """(id, state, manifest_sha256) of a batch, or None."""
    return db.execute("SELECT id, state, manifest_sha256 FROM batches WHERE id = ?", [batch_id]).fetchone()


def waiting(db: Database) -> tuple[int, str | None]:
    """How many batches wait for a receipt, and since when the oldest was sealed."""
    row = db.execute("SELECT COUNT(*), MIN(sealed_at) FROM batches WHERE state = ?", [BatchState.SEALED]).fetchone()
    return int(row[0]), row[1]


def acknowledged(db: Database) -> list[tuple[str, int, str, str, str, str]]:
    """(id, seq, manifest, signature, manifest_sha256, receipt) of every batch holding a receipt."""
    return db.execute(
        "SELECT id, seq, manifest, signature, manifest_sha256, receipt FROM batches WHERE receipt IS NOT NULL ORDER BY seq"
    ).fetchall()
