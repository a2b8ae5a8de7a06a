"""`edge verify`: the appliance checks its own audit chain, the heads central witnessed, and every blob.

Three passes, each ending in findings with the exact place:

1. the audit chain, row by row: the first row `missing`, `relinked` or `edited`;
2. every acknowledged batch: central's receipt is signed by central, names this
   batch and the exact stored manifest bytes (signed by this appliance), and the
   appliance head that manifest carried — which central witnessed — is still in
   the chain with the same hash. A chain cut below that head is `truncated`; a
   chain re-computed after an edit is `rechained`. Central's own heads in the
   receipts must only move forward;
3. every blob: the file exists, hashes to its recorded SHA-256 and, while its
   local wrap exists (not purged), decrypts to the recorded plaintext hash.

The run itself is audited.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import ApplianceKeys
from juanzong.edge.repo import batches as batch_rows
from juanzong.edge.repo import blobs as blob_rows
from juanzong.shared import crypto
from juanzong.shared.audit import Action, BreakReason, Outcome, first_bad_row
from juanzong.shared.errors import AppError
from juanzong.shared.manifest import Manifest, Receipt, Signed, open_signed


class BlobOutcome(StrEnum):
    """What checking one local blob found."""

    OK = "ok"  # opens to its plaintext hash, or purged/shredded on record
    MISSING = "missing"
    HASH_MISMATCH = "hash_mismatch"
    DECRYPT_FAILED = "decrypt_failed"
    PLAINTEXT_MISMATCH = "plaintext_mismatch"


class FindingKind(StrEnum):
    AUDIT = "audit"  # ident: the first bad row
    RECEIPT = "receipt"  # ident: the batch id
    BLOB = "blob"  # ident: the blob id


class ReceiptProblem(StrEnum):
    """What is wrong with a kept receipt of central (or the manifest it acknowledges)."""

    SIGNATURE_OR_FORMAT = "signature_or_format_invalid"  # followed by the code, e.g. " (MANIFEST_SIGNATURE_INVALID)"
    OTHER_BATCH = "receipt_names_another_batch"
    MANIFEST_CHANGED = "manifest_changed_since_receipt"
    HEAD_DIFFERS = "receipt_head_differs_from_manifest"
    CENTRAL_HEAD_BACK = "central_head_went_back"


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    ident: str
    outcome: str  # a BreakReason, BlobOutcome or ReceiptProblem (some followed by a detail in brackets)


@dataclass
class EdgeVerifyResult:
    audit_rows: int = 0
    receipts: int = 0
    blobs: int = 0
    blobs_ok: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "audit_rows": self.audit_rows,
            "receipts": self.receipts,
            "blobs": self.blobs,
            "blobs_ok": self.blobs_ok,
            "ok": self.ok,
            "findings": [asdict(f) for f in self.findings],
        }


def verify_appliance(db: Database, store: BlobStore, keys: ApplianceKeys, appliance_id: str) -> EdgeVerifyResult:
    result = EdgeVerifyResult()
    hashes = _check_chain(db, result)
    _check_receipts(db, keys, appliance_id, hashes, result)
    _check_blobs(db, store, keys, appliance_id, result)
    audit.record(
        db,
        place=appliance_id,
        actor="system",
        action=Action.VERIFY,
        target="appliance",
        outcome=Outcome.OK if result.ok else Outcome.FAILED,
        findings=len(result.findings),
        key_use="kek",
    )
    return result


def _check_chain(db: Database, result: EdgeVerifyResult) -> dict[int, str]:
    rows = audit.records_with_hashes(db)
    result.audit_rows = len(rows)
    broken, hashes = first_bad_row(rows)
    if broken is not None:
        result.findings.append(Finding(FindingKind.AUDIT, str(broken.seq), broken.reason))
    return hashes


def _check_receipts(db: Database, keys: ApplianceKeys, appliance_id: str, hashes: dict[int, str], result: EdgeVerifyResult) -> None:
    last_row = max(hashes, default=0)
    central_seq = 0
    for batch_id, _seq, body, signature, sha, receipt_json in batch_rows.acknowledged(db):
        result.receipts += 1
        problem, witnessed, central_head = _receipt_problem(keys, appliance_id, batch_id, body, signature, sha, receipt_json)
        if problem:
            result.findings.append(Finding(FindingKind.RECEIPT, batch_id, problem))
            continue
        if witnessed.seq > last_row and witnessed.seq != 0:
            result.findings.append(
                Finding(FindingKind.AUDIT, str(last_row + 1), f"{BreakReason.TRUNCATED} (witnessed by receipt {batch_id})")
            )
        elif witnessed.seq and hashes.get(witnessed.seq) != witnessed.hash:
            result.findings.append(
                Finding(FindingKind.AUDIT, str(witnessed.seq), f"{BreakReason.RECHAINED} (witnessed by receipt {batch_id})")
            )
        if central_head is not None:
            if central_head.seq < central_seq:
                result.findings.append(Finding(FindingKind.RECEIPT, batch_id, ReceiptProblem.CENTRAL_HEAD_BACK))
            central_seq = max(central_seq, central_head.seq)


def _receipt_problem(
    keys: ApplianceKeys, appliance_id: str, batch_id: str, body: str, signature: str, sha: str, receipt_json: str
) -> tuple[str, Any, Any]:
    try:
        receipt = open_signed(Signed.from_wire(json.loads(receipt_json)), keys.central.signing_public, Receipt)
        manifest = open_signed(Signed(body.encode("utf-8"), signature), keys.signing.public_key(), Manifest)
    except (AppError, ValueError) as exc:
        return f"{ReceiptProblem.SIGNATURE_OR_FORMAT} ({getattr(exc, 'code', type(exc).__name__)})", None, None
    if receipt.batch_id != batch_id or receipt.appliance_id != appliance_id:
        return ReceiptProblem.OTHER_BATCH, None, None
    if receipt.manifest_sha256 != sha or crypto.sha256_hex(body.encode("utf-8")) != sha:
        return ReceiptProblem.MANIFEST_CHANGED, None, None
    witnessed = receipt.appliance_head or manifest.audit_head
    if witnessed != manifest.audit_head:
        return ReceiptProblem.HEAD_DIFFERS, None, None
    return "", witnessed, receipt.central_head


def _check_blobs(db: Database, store: BlobStore, keys: ApplianceKeys, appliance_id: str, result: EdgeVerifyResult) -> None:
    for blob_id, kind, sha, wrapped, plain_sha, purged_at in blob_rows.for_verify(db):
        result.blobs += 1
        outcome = _blob_outcome(store, keys, appliance_id, blob_id, kind, sha, wrapped, plain_sha, purged_at)
        if outcome == BlobOutcome.OK:
            result.blobs_ok += 1
        else:
            result.findings.append(Finding(FindingKind.BLOB, blob_id, outcome))


def _blob_outcome(
    store: BlobStore,
    keys: ApplianceKeys,
    appliance_id: str,
    blob_id: str,
    kind: str,
    sha: str,
    wrapped: bytes | None,
    plain_sha: str,
    purged_at: str | None,
) -> BlobOutcome:
    if purged_at is not None and not store.exists(blob_id):
        return BlobOutcome.OK  # purged on record: nothing left to check
    if not store.exists(blob_id):
        return BlobOutcome.MISSING
    data = store.get(blob_id)
    if crypto.sha256_hex(data) != sha:
        return BlobOutcome.HASH_MISMATCH
    if wrapped is None:
        return BlobOutcome.OK  # shredded: the ciphertext can no longer be opened here, by design
    try:
        plain = crypto.open_blob_local(data, wrapped, kek=keys.kek, appliance_id=appliance_id, blob_id=blob_id, kind=kind)
    except AppError:
        return BlobOutcome.DECRYPT_FAILED
    return BlobOutcome.OK if crypto.sha256_hex(plain) == plain_sha else BlobOutcome.PLAINTEXT_MISMATCH


_TEXT: dict[str, str] = {
    BreakReason.MISSING: "缺失",
    BreakReason.RELINKED: "链接被改动",
    BreakReason.EDITED: "内容被改动",
    BreakReason.TRUNCATED: "已被删除（日志被截断，中心回执见证过）",
    BreakReason.RECHAINED: "与中心见证的链头不符（日志被改写后重算）",
    BlobOutcome.MISSING: "缺失",
    BlobOutcome.HASH_MISMATCH: "密文哈希不符",
    BlobOutcome.DECRYPT_FAILED: "解密失败",
    BlobOutcome.PLAINTEXT_MISMATCH: "解密后内容与记录不符",
    ReceiptProblem.SIGNATURE_OR_FORMAT: "签名无效或格式不对",
    ReceiptProblem.OTHER_BATCH: "回执写的是另一个批次或设备",
    ReceiptProblem.MANIFEST_CHANGED: "清单在回执之后被改动",
    ReceiptProblem.HEAD_DIFFERS: "回执见证的审计链头与清单不符",
    ReceiptProblem.CENTRAL_HEAD_BACK: "中心的审计链头比之前的回执更早（中心日志可能被截断）",
}
_HEADS = {FindingKind.AUDIT: "审计记录 第 {} 条", FindingKind.RECEIPT: "批次 {} 的回执", FindingKind.BLOB: "数据块 {}"}


def _outcome_text(outcome: str) -> str:
    """The Chinese text of an outcome; some carry a detail after a space (the code, the witnessing receipt)."""
    return _TEXT.get(outcome) or _TEXT.get(outcome.split(" ", 1)[0], outcome)


def render_text(result: EdgeVerifyResult) -> str:
    lines = [
        f"审计记录 {result.audit_rows} 条，中心回执 {result.receipts} 份，加密数据块 {result.blobs} 个（校验通过 {result.blobs_ok} 个）"
    ]
    for f in result.findings:
        lines.append(f"  {_HEADS[f.kind].format(f.ident)}：{_outcome_text(f.outcome)}")
    lines.append("设备完整性检查通过" if result.ok else "设备完整性检查未通过")
    return "\n".join(lines)
