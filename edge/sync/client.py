"""The outbox: sealed batches go to central until a signed receipt comes back.

For one batch: every blob the manifest names is uploaded unless central
already has it (content-addressed, so a retry re-sends nothing twice), then
the manifest. The batch is marked acknowledged only when central's receipt
verifies against central's signing key and names this batch and this exact
manifest hash. Failures back off exponentially per batch; a rejection that a
retry cannot fix (bad signature, conflicting content) parks the batch as
`rejected` for a person to look at.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import ApplianceKeys
from juanzong.edge.repo import batches, write_tx
from juanzong.edge.sync.payload import blob_refs
from juanzong.edge.sync.transport import Rejected, Transport
from juanzong.shared import clock
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.crypto import sha256_hex
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import Receipt, Signed, open_signed

log = logging.getLogger("juanzong.sync")
# central's refusals a retry cannot fix: the batch is parked as rejected for a person
FINAL_REJECTIONS = frozenset(
    {
        ErrorCode.MANIFEST_SIGNATURE_INVALID,
        ErrorCode.MANIFEST_SCHEMA_INVALID,
        ErrorCode.MANIFEST_CONFLICT,
        ErrorCode.APPLIANCE_UNKNOWN,
        ErrorCode.MANIFEST_RECORD_FOREIGN,
        ErrorCode.MANIFEST_SEQ_BACKWARDS,
        ErrorCode.MANIFEST_SEQ_REUSED,
        ErrorCode.AUDIT_HEAD_REGRESSED,
        ErrorCode.APPLIANCE_REVOKED,
        ErrorCode.SENDER_MISMATCH,
    }
)


class SyncState(StrEnum):
    """What one sync attempt of a batch ended in."""

    ACKNOWLEDGED = "acknowledged"
    RETRY = "retry"  # not reachable, busy, or a refusal a retry may fix: back-off
    REJECTED = "rejected"  # a final refusal (FINAL_REJECTIONS)


@dataclass(frozen=True)
class SyncResult:
    batch_id: str
    state: SyncState
    uploaded: int = 0
    error: str = ""


def due_batches(db: Database, now: datetime) -> list[dict]:
    return batches.due(db, now.isoformat())


def sync_due(
    db: Database, store: BlobStore, transport: Transport, keys: ApplianceKeys, appliance_id: str, backoff_max: float
) -> list[SyncResult]:
    results = []
    for batch in due_batches(db, clock.now()):
        result = sync_one(db, store, transport, keys, appliance_id, batch, backoff_max)
        results.append(result)
        if result.state == SyncState.RETRY:
            break  # central is unreachable or busy: the later batches wait their turn
    return results


def sync_one(db, store, transport, keys, appliance_id, batch: dict, backoff_max: float) -> SyncResult:
    signed = Signed(batch["manifest"].encode("utf-8"), batch["signature"])
    try:
        uploaded = _upload_blobs(store, transport, json.loads(batch["manifest"]))
        receipt = _check_receipt(transport.post_manifest(signed), keys, batch)
    except Rejected as err:
        state = SyncState.REJECTED if err.central_code in FINAL_REJECTIONS else SyncState.RETRY
        return _failed(db, appliance_id, batch, err, state, backoff_max)
    except AppError as err:
        return _failed(db, appliance_id, batch, err, SyncState.RETRY, backoff_max)
    acknowledge(db, appliance_id, batch["id"], receipt, via="network", uploaded=uploaded)
    log.info("batch %s acknowledged by central (%d blobs uploaded)", batch["id"], uploaded)
    return SyncResult(batch["id"], SyncState.ACKNOWLEDGED, uploaded)


def acknowledge(db: Database, appliance_id: str, batch_id: str, receipt: Signed, *, via: str, **detail: Any) -> None:
    """The one place a batch becomes acknowledged: a verified receipt, however it arrived."""
    with write_tx(db):
        batches.mark_acknowledged(db, batch_id, json.dumps(receipt.to_wire(), ensure_ascii=False), clock.now().isoformat())
        audit.record(db, place=appliance_id, actor="system", action=Action.SYNC, target=batch_id, via=via, **detail)


def _upload_blobs(store: BlobStore, transport: Transport, manifest: dict) -> int:
    uploaded = 0
    for ref in blob_refs(manifest):
        if transport.has_blob(ref.sha256):
            continue
        data = store.get(ref.blob_id)
        if sha256_hex(data) != ref.sha256:  # local corruption: never send it
            raise AppError(ErrorCode.STORE_VERIFY_FAILED, blob_id=ref.blob_id)
        transport.put_blob(ref.sha256, data)
        uploaded += 1
    return uploaded


def receipt_problem(receipt: Signed, keys: ApplianceKeys, batch: dict) -> str | None:
    """Why `receipt` does not acknowledge `batch` (in Chinese), or None when it does."""
    try:
        doc = open_signed(receipt, keys.central.signing_public, Receipt)
    except AppError:
        return "回执签名不是本院中心的，或回执格式不对"
    if doc.batch_id != batch["id"]:
        return "回执不是这个批次的"
    if doc.manifest_sha256 != batch["manifest_sha256"]:
        return "回执对应的批次清单内容不同"
    return None


def _check_receipt(receipt: Signed, keys: ApplianceKeys, batch: dict) -> Signed:
    if receipt_problem(receipt, keys, batch):
        raise AppError(ErrorCode.SYNC_RECEIPT_INVALID, batch_id=batch["id"])
    return receipt


def _failed(db, appliance_id: str, batch: dict, err: AppError, state: SyncState, backoff_max: float) -> SyncResult:
    attempts = batch["attempts"] + 1
    delay = min(backoff_max, 0.5 * 2 ** min(attempts, 16)) * random.uniform(0.8, 1.2)
    next_try = clock.now() + timedelta(seconds=delay)
    with write_tx(db):
        batches.mark_failed(
            db,
            batch["id"],
            rejected=state == SyncState.REJECTED,
            attempts=attempts,
            error=f"{err.code}: {err.message}",
            next_try_at=next_try.isoformat(),
        )
        audit.record(
            db, place=appliance_id, actor="system", action=Action.SYNC, target=batch["id"], outcome=Outcome.FAILED, code=str(err.code)
        )
    log.warning(
        "batch %s not synced (%s), %s",
        batch["id"],
        err.code,
        "parked as rejected" if state == SyncState.REJECTED else f"retry in {delay:.1f}s",
    )
    return SyncResult(batch["id"], state, error=str(err.code))
