"""Receiving a batch: blobs by hash first, then the signed manifest, then a receipt.

The order of `receive_manifest` is the protocol's promise, step by step:

1. who claims to have signed it (peek) → the key enrolled for that appliance;
2. the signature over the exact bytes → the schema → central's own checks;
3. a batch id seen before is a replay: same bytes → the stored receipt, other
   bytes → conflict (Idempotency-Key semantics: never a second row);
4. every page's blob must already be stored, with the stated size;
5. ONE transaction stores the batch, its intakes, items and pages;
6. only after that commit is a receipt signed — the appliance may forget the
   batch once it holds one, so the receipt must never run ahead of the disk.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy.exc import IntegrityError

from juanzong.central import audit
from juanzong.central.home import Central
from juanzong.central.repository import Appliance, StoredBatch, utc_now
from juanzong.central.receive.checks import check_references, check_types
from juanzong.shared import crypto
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import Signed, build_receipt, open_document, peek_appliance_id, sign_document, validate_manifest

log = logging.getLogger("juanzong.central.receive")


@dataclass(frozen=True)
class Receipt:
    signed: Signed
    created: bool  # False: a replay answered from the stored batch


class ReceiveService:
    def __init__(self, central: Central) -> None:
        self.central = central
        self.repo = central.repo
        self.store = central.store

    # --- blobs ------------------------------------------------------------------------------

    def has_blob(self, sha256: str) -> bool:
        return self.store.size(sha256) is not None

    def put_blob(self, appliance_id: str | None, sha256: str, body: IO[bytes], size: int) -> bool:
        """Store one ciphertext under its hash, streamed from `body`; True if it was new.
        The store hashes the bytes on their way in: a mismatch stores nothing."""
        self._appliance(appliance_id or "")
        if size > self.central.settings.max_blob_bytes:
            raise AppError(ErrorCode.BLOB_TOO_LARGE, limit=self.central.settings.max_blob_bytes)
        created = self.store.put_stream(sha256, body, size)
        log.info("blob %s from %s size=%d new=%s", sha256[:12], appliance_id, size, created)
        return created

    # --- manifests --------------------------------------------------------------------------

    def receive_manifest(self, signed: Signed) -> Receipt:
        try:
            return self._receive(signed)
        except AppError as err:
            audit.record(self.repo.engine, actor=_claimed_signer(signed), action="sync", target=signed.sha256,
                         outcome="refused", code=str(err.code))
            raise

    def _receive(self, signed: Signed) -> Receipt:
        appliance = self._appliance(peek_appliance_id(signed))
        doc = open_document(signed, crypto.load_verify_key(crypto.unb64(appliance.signing_public)))
        validate_manifest(doc)
        check_types(doc)
        existing = self.repo.batch(doc["batch_id"])
        if existing is not None:
            return self._replay(existing, signed)
        self._refuse_reused_seq(doc)
        check_references(doc, lambda table, ids: set(self.repo.owners(table, ids)))
        self._require_blobs(doc)
        received_at = utc_now()
        try:
            new_pages, gap = self.repo.store_batch(doc, signed, received_at)
        except IntegrityError as exc:
            return self._after_race(doc, signed, exc)
        log.info("batch %s seq=%d from %s pages=%d new=%d", doc["batch_id"], doc["seq"], appliance.appliance_id, len(doc["pages"]), new_pages)
        if gap:
            log.warning("appliance %s skipped %d sequence number(s) before seq %d", appliance.appliance_id, gap, doc["seq"])
        return Receipt(self._issue_receipt(doc, signed.sha256, received_at), created=True)

    def _appliance(self, appliance_id: str) -> Appliance:
        appliance = self.repo.appliance(appliance_id) if appliance_id else None
        if appliance is None:
            raise AppError(ErrorCode.APPLIANCE_UNKNOWN, appliance_id=appliance_id or "（未提供）")
        return appliance

    def _replay(self, existing: StoredBatch, signed: Signed) -> Receipt:
        if existing.manifest_sha256 != signed.sha256:
            raise AppError(ErrorCode.MANIFEST_CONFLICT, batch_id=existing.batch_id)
        if existing.receipt is not None:
            return Receipt(existing.receipt, created=False)
        # committed, but the process stopped before the receipt was stored: issue it now
        doc = json.loads(existing.manifest.body)
        return Receipt(self._issue_receipt(doc, existing.manifest_sha256, existing.received_at), created=False)

    def _after_race(self, doc: dict[str, Any], signed: Signed, exc: IntegrityError) -> Receipt:
        """A concurrent request stored this batch id or seq first: answer as if we came second."""
        existing = self.repo.batch(doc["batch_id"])
        if existing is not None:
            return self._replay(existing, signed)
        self._refuse_reused_seq(doc)
        raise exc  # neither: a genuine integrity fault, let it surface as a 500

    def _refuse_reused_seq(self, doc: dict[str, Any]) -> None:
        other = self.repo.batch_at_seq(doc["appliance_id"], doc["seq"])
        if other is not None and other != doc["batch_id"]:
            raise AppError(ErrorCode.MANIFEST_SEQ_REUSED, appliance_id=doc["appliance_id"], seq=doc["seq"], other=other)

    def _require_blobs(self, doc: dict[str, Any]) -> None:
        missing = [p["page_id"] for p in doc["pages"] if self.store.size(p["blob"]["sha256"]) != p["blob"]["size"]]
        if missing:
            raise AppError(ErrorCode.MANIFEST_BLOB_MISSING, count=len(missing), first=missing[0])

    def _issue_receipt(self, doc: dict[str, Any], manifest_sha256: str, received_at: str) -> Signed:
        receipt = sign_document(build_receipt(doc, manifest_sha256, received_at), self.central.keys.signing)
        self.repo.set_receipt(doc["batch_id"], receipt)
        return receipt


def _claimed_signer(signed: Signed) -> str:
    try:
        return peek_appliance_id(signed)
    except AppError:
        return "unknown"
