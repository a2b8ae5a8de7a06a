"""The batch manifest and the central receipt: canonical JSON, signed with Ed25519.

Canonical JSON = sorted keys, UTF-8, no insignificant white space, no floats.
The bytes that were signed are the bytes that travel and are stored, so the
signature can be checked again at any later time (four-property check).

Manifest (schema 1)::

    {schema, appliance_id, batch_id, seq, created_at,
     intakes: [{intake_id, case_number, case, submitter, received_at, deadline, urgent,
                deadline_provisional?}],   # optional, false when absent: deadline is （暂定）
     items:   [{item_id, intake_id, seq, name, declared_pages, volume, catalog_dir, original, colour}],
     pages:   [{page_id, item_id|null, page_no|null, side, source_name, source_sha256, source_size,
               width, height, dpi|null, mode, findings, scanned_at,
               blob: {sha256, size, kind, sealed_key}}]}

Receipt::

    {schema, kind: "receipt", appliance_id, batch_id, seq, manifest_sha256, pages, received_at}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from juanzong.shared import crypto
from juanzong.shared.errors import AppError, ErrorCode

SCHEMA_VERSION = 1

_REQUIRED = {
    "manifest": ("schema", "appliance_id", "batch_id", "seq", "created_at", "intakes", "items", "pages"),
    "intake": ("intake_id", "case_number", "submitter", "received_at", "deadline", "urgent"),
    "item": ("item_id", "intake_id", "seq", "name", "declared_pages", "volume"),
    "page": ("page_id", "item_id", "page_no", "side", "source_sha256", "source_size", "blob"),
    "blob": ("sha256", "size", "kind", "sealed_key"),
}


def canonical_json(obj: Any) -> bytes:
    _reject_floats(obj)
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _reject_floats(obj: Any) -> None:
    if isinstance(obj, float):
        raise ValueError("canonical JSON carries no floats")
    if isinstance(obj, dict):
        for v in obj.values():
            _reject_floats(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _reject_floats(v)


@dataclass(frozen=True)
class Signed:
    """Canonical bytes and their detached signature, as sent and as stored."""

    body: bytes
    signature: str

    @property
    def sha256(self) -> str:
        return crypto.sha256_hex(self.body)

    def to_wire(self) -> dict[str, str]:
        return {"body": self.body.decode("utf-8"), "signature": self.signature}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> "Signed":
        if not isinstance(wire, dict) or not isinstance(wire.get("body"), str) or not isinstance(wire.get("signature"), str):
            raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="需要 body 与 signature 两个字符串字段")
        return cls(wire["body"].encode("utf-8"), wire["signature"])


def sign_document(doc: dict[str, Any], key: Ed25519PrivateKey) -> Signed:
    body = canonical_json(doc)
    return Signed(body, crypto.sign(key, body))


def open_document(signed: Signed, key: Ed25519PublicKey) -> dict[str, Any]:
    if not crypto.verify(key, signed.body, signed.signature):
        raise AppError(ErrorCode.MANIFEST_SIGNATURE_INVALID)
    try:
        doc = json.loads(signed.body)
    except ValueError as exc:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="不是合法的 JSON") from exc
    try:
        canonical = canonical_json(doc)
    except ValueError as exc:  # a float: the receiver must answer with a code, not crash
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="不是规范化 JSON（含浮点数）") from exc
    if canonical != signed.body:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="不是规范化 JSON")
    return doc


def peek_appliance_id(signed: Signed) -> str:
    """The claimed signer, read before the signature can be checked."""
    try:
        value = json.loads(signed.body).get("appliance_id")
    except (ValueError, AttributeError) as exc:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="不是合法的 JSON") from exc
    if not isinstance(value, str):
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="缺少 appliance_id")
    return value


def validate_manifest(doc: dict[str, Any]) -> None:
    _require(doc, "manifest")
    if doc["schema"] != SCHEMA_VERSION:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"不支持的版本 {doc['schema']}")
    for intake in doc["intakes"]:
        _require(intake, "intake")
    for item in doc["items"]:
        _require(item, "item")
    for page in doc["pages"]:
        _require(page, "page")
        _require(page["blob"], "blob")
    page_ids = [p["page_id"] for p in doc["pages"]]
    if len(set(page_ids)) != len(page_ids):
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="页面编号重复")


def _require(obj: Any, what: str) -> None:
    if not isinstance(obj, dict):
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"{what} 不是对象")
    missing = [k for k in _REQUIRED[what] if k not in obj]
    if missing:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"{what} 缺少字段 {', '.join(missing)}")


def build_receipt(manifest: dict[str, Any], manifest_sha256: str, received_at: str) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "kind": "receipt",
        "appliance_id": manifest["appliance_id"],
        "batch_id": manifest["batch_id"],
        "seq": manifest["seq"],
        "manifest_sha256": manifest_sha256,
        "pages": len(manifest["pages"]),
        "received_at": received_at,
    }
