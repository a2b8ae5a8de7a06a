"""Receiving a batch: blobs by hash first, then the signed manifest, then a receipt.

The order of `receive_manifest` is the protocol's promise, step by step:

1. who claims to have signed it (peek) → the key enrolled for that appliance,
   refused if it is unknown or revoked;
2. the signature over the exact bytes → the typed decode (shared/manifest.py:
   fields, types, id formats, lengths) — from here on the sender is verified;
3. the TLS client certificate (when the server hands it over) names the same
   appliance as the signature;
4. a batch id seen before is a replay: same bytes → the stored receipt (audited),
   other bytes → conflict (Idempotency-Key semantics: never a second row);
5. sequence numbers only move forward; the appliance's audit head never goes
   back (truncation or re-chaining on the appliance shows up here);
6. every record written or referenced belongs to the sender (checks.py);
7. every page's blob must already be stored, with the stated size; a blob the manifest
   says is in the 商用密码 suite is read back: its header must name that suite and its
   SM3 must be the stated one (aes blobs are not read again: their AAD names the suite,
   so a relabelled blob fails to open at inspection and at `central verify`);
8. ONE transaction stores the batch, its intakes, items, pages and audit row;
9. only after that commit is a receipt signed — it carries central's own audit
   head, which the appliance keeps as a witness — and a signed checkpoint of
   that head is appended outside the database.

Every refusal is audited with the verified sender as actor once step 2 has
passed, and as "unverified" (the claim kept as detail) before it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import IO

from sqlalchemy.exc import IntegrityError

from juanzong.central import audit
from juanzong.central.home import Central
from juanzong.central.receive.checks import check_ownership
from juanzong.central.repository import Appliance, StoredBatch, utc_now
from juanzong.shared import crypto, suites
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import Manifest, Signed, Suite, build_receipt, decode, open_signed, peek_appliance_id, sign

log = logging.getLogger("juanzong.central.receive")
UNVERIFIED = "unverified"


@dataclass(frozen=True)
class Receipt:
    signed: Signed
    created: bool  # False: a replay answered from the stored batch


@dataclass
class _Attempt:
    """What is known about one delivery so far: for the audit row of a refusal."""

    signed: Signed
    tls_name: str | None
    claimed: str = ""
    verified: str = ""

    @property
    def actor(self) -> str:
        return self.verified or UNVERIFIED


class ReceiveService:
    def __init__(self, central: Central) -> None:
        self.central = central
        self.repo = central.repo
        self.store = central.store

    # --- blobs ------------------------------------------------------------------------------

    def has_blob(self, sha256: str) -> bool:
        return self.store.size(sha256) is not None

    def put_blob(self, appliance_id: str | None, sha256: str, body: IO[bytes], size: int, tls_name: str | None = None) -> bool:
        """Store one ciphertext under its hash, streamed from `body`; True if it was new.
        The store hashes the bytes on their way in: a mismatch stores nothing. Refusals and
        re-uploads of a stored blob are audited (the TLS certificate's appliance as actor)."""
        actor = tls_name or UNVERIFIED
        try:
            sender = self.sender(tls_name or appliance_id or "")
            if tls_name is not None and appliance_id not in (None, tls_name):
                raise AppError(ErrorCode.SENDER_MISMATCH, tls=tls_name, appliance_id=appliance_id)
            if size > self.central.settings.max_blob_bytes:
                raise AppError(ErrorCode.BLOB_TOO_LARGE, limit=self.central.settings.max_blob_bytes)
            created = self.store.put_stream(sha256, body, size)
        except AppError as err:
            audit.record(
                self.repo.engine,
                actor=actor,
                action=Action.BLOB,
                target=sha256[:64],
                outcome=Outcome.REFUSED,
                code=str(err.code),
                claimed=appliance_id,
            )
            err.audited = True
            raise
        if not created:
            audit.record(self.repo.engine, actor=sender.appliance_id, action=Action.BLOB, target=sha256, outcome=Outcome.REPLAY)
        log.info("blob %s from %s size=%d new=%s", sha256[:12], sender.appliance_id, size, created)
        return created

    # --- manifests --------------------------------------------------------------------------

    def receive_manifest(self, signed: Signed, tls_name: str | None = None) -> Receipt:
        attempt = _Attempt(signed, tls_name)
        try:
            return self._receive(attempt)
        except AppError as err:
            audit.record(
                self.repo.engine,
                actor=attempt.actor,
                action=Action.SYNC,
                target=signed.sha256,
                outcome=Outcome.REFUSED,
                code=str(err.code),
                claimed=attempt.claimed or None,
                tls=tls_name,
            )
            log.warning(
                "manifest %s refused (%s) claimed=%s verified=%s tls=%s",
                signed.sha256[:12],
                err.code,
                attempt.claimed,
                attempt.verified,
                tls_name,
            )
            err.audited = True
            raise

    def _receive(self, attempt: _Attempt) -> Receipt:
        signed = attempt.signed
        attempt.claimed = peek_appliance_id(signed)
        appliance = self.sender(attempt.claimed)
        doc = open_signed(signed, crypto.load_verify_key(crypto.unb64(appliance.signing_public)), Manifest)
        attempt.verified = doc.appliance_id
        if attempt.tls_name is not None and attempt.tls_name != doc.appliance_id:
            raise AppError(ErrorCode.SENDER_MISMATCH, tls=attempt.tls_name, appliance_id=doc.appliance_id)
        existing = self.repo.batch(doc.batch_id)
        if existing is not None:
            return self._replay(existing, signed, doc.appliance_id)
        self._require_forward(doc)
        check_ownership(doc, self.repo.owners)
        self._require_blobs(doc)
        received_at = utc_now()
        try:
            new_pages, gap = self.repo.store_batch(doc, signed, received_at)
        except IntegrityError as exc:
            return self._after_race(doc, signed, exc)
        log.info("batch %s seq=%d from %s pages=%d new=%d", doc.batch_id, doc.seq, doc.appliance_id, len(doc.pages), new_pages)
        if gap:
            log.warning("appliance %s skipped %d sequence number(s) before seq %d", doc.appliance_id, gap, doc.seq)
        self._witness_central_head(doc)
        return Receipt(self._issue_receipt(doc, signed.sha256, received_at), created=True)

    def sender(self, appliance_id: str) -> Appliance:
        """The enrolled, not revoked appliance of that id."""
        appliance = self.repo.appliance(appliance_id) if appliance_id else None
        if appliance is None:
            raise AppError(ErrorCode.APPLIANCE_UNKNOWN, appliance_id=appliance_id or "（未提供）")
        if appliance.revoked_at:
            raise AppError(ErrorCode.APPLIANCE_REVOKED, appliance_id=appliance_id)
        return appliance

    def _replay(self, existing: StoredBatch, signed: Signed, sender: str) -> Receipt:
        if existing.appliance_id != sender:
            raise AppError(ErrorCode.MANIFEST_RECORD_FOREIGN, record_id=existing.batch_id, count=1)
        if existing.manifest_sha256 != signed.sha256:
            raise AppError(ErrorCode.MANIFEST_CONFLICT, batch_id=existing.batch_id)
        audit.record(self.repo.engine, actor=sender, action=Action.SYNC, target=existing.batch_id, outcome=Outcome.REPLAY)
        if existing.receipt is not None:
            return Receipt(existing.receipt, created=False)
        # committed, but the process stopped before the receipt was stored: issue it now
        doc = decode(existing.manifest.body, Manifest)
        return Receipt(self._issue_receipt(doc, existing.manifest_sha256, existing.received_at), created=False)

    def _after_race(self, doc: Manifest, signed: Signed, exc: IntegrityError) -> Receipt:
        """A concurrent request stored this batch id or seq first: answer as if we came second."""
        existing = self.repo.batch(doc.batch_id)
        if existing is not None:
            return self._replay(existing, signed, doc.appliance_id)
        self._require_forward(doc)
        raise exc  # neither: a genuine integrity fault, let it surface as a 500

    def _require_forward(self, doc: Manifest) -> None:
        """Sequence numbers and the appliance's audit head only move forward."""
        other = self.repo.batch_at_seq(doc.appliance_id, doc.seq)
        if other is not None and other != doc.batch_id:
            raise AppError(ErrorCode.MANIFEST_SEQ_REUSED, appliance_id=doc.appliance_id, seq=doc.seq, other=other)
        last = self.repo.last_batch(doc.appliance_id)
        if last is None:
            return
        if doc.seq < last.seq:
            raise AppError(ErrorCode.MANIFEST_SEQ_BACKWARDS, appliance_id=doc.appliance_id, seq=doc.seq, last=last.seq)
        seen = decode(last.manifest.body, Manifest).audit_head
        head = doc.audit_head
        if head.seq < seen.seq or (head.seq == seen.seq and head.hash != seen.hash):
            raise AppError(ErrorCode.AUDIT_HEAD_REGRESSED, appliance_id=doc.appliance_id, seq=head.seq, seen=seen.seq)

    def _require_blobs(self, doc: Manifest) -> None:
        named = [(p.page_id, p.blob) for p in doc.pages] + [(d.document_id, d.blob) for d in doc.documents]
        missing = [ident for ident, blob in named if self.store.size(blob.sha256) != blob.size]
        if missing:
            raise AppError(ErrorCode.MANIFEST_BLOB_MISSING, count=len(missing), first=missing[0])
        for page in doc.pages:
            if page.blob.suite is Suite.SM:
                self._require_sm_blob(page.blob.sha256, page.blob.sm3 or "")

    def _require_sm_blob(self, sha256: str, sm3: str) -> None:
        data = b"".join(self.store.read(sha256))
        if suites.spec_of_blob(data) is not suites.SPECS[Suite.SM] or suites.sm3_hex(data) != sm3:
            raise AppError(ErrorCode.BLOB_SUITE_MISMATCH, sha256=sha256)

    def _witness_central_head(self, doc: Manifest) -> None:
        """The appliance hands back central's head from its last receipt: our chain must still hold it."""
        if doc.central_head is not None and not audit.holds(self.repo.engine, doc.central_head):
            log.error("central audit chain does not hold the head %s witnessed by %s", doc.central_head, doc.appliance_id)
            audit.record(
                self.repo.engine,
                actor=doc.appliance_id,
                action=Action.WITNESS,
                target=doc.batch_id,
                outcome=Outcome.MISMATCH,
                seq=doc.central_head.seq,
                hash=doc.central_head.hash,
            )

    def _issue_receipt(self, doc: Manifest, manifest_sha256: str, received_at: str) -> Signed:
        head = audit.batch_head(self.repo.engine, doc.batch_id)
        receipt = sign(build_receipt(doc, manifest_sha256, received_at, head), self.central.keys.signing)
        self.repo.set_receipt(doc.batch_id, receipt)
        if head is not None:
            audit.checkpoint(self.central, head)
        return receipt
