"""Enrolment: central learns an appliance's signing key from the file it wrote.

A manifest is accepted only under the key enrolled for its appliance id. The
same file enrolled twice is a no-op; the same id with another key is refused,
because silently replacing the key would let anyone holding a copied id sign
batches as that scanning point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juanzong.central.repository import Appliance, Repository, utc_now
from juanzong.shared import crypto
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, is_valid_id, normalise_id


@dataclass(frozen=True)
class Enrolment:
    appliance: Appliance
    created: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.appliance.__dict__, "enrolled": self.created}


def read_identity(path: Path) -> Appliance:
    """Parse and check an appliance identity file (nothing is stored yet)."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise AppError(ErrorCode.APPLIANCE_IDENTITY_INVALID, path=str(path), detail=str(exc)) from exc
    return parse_identity(raw, str(path))


def parse_identity(raw: Any, where: str) -> Appliance:
    if not isinstance(raw, dict) or not isinstance(raw.get("appliance_id"), str):
        raise AppError(ErrorCode.APPLIANCE_IDENTITY_INVALID, path=where, detail="缺少 appliance_id")
    if not is_valid_id(raw["appliance_id"], Kind.APPLIANCE):
        raise AppError(ErrorCode.ID_INVALID, text=raw["appliance_id"])
    try:
        key = crypto.public_bytes(crypto.load_verify_key(crypto.unb64(raw["signing_public"])))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AppError(
            ErrorCode.APPLIANCE_IDENTITY_INVALID, path=where, detail="signing_public 不是 32 字节 Ed25519 公钥的 base64"
        ) from exc
    return Appliance(
        appliance_id=normalise_id(raw["appliance_id"]),
        signing_public=crypto.b64(key),  # re-encoded, so one key has one spelling
        profile=str(raw.get("profile", "")),
        name=str(raw.get("name", "")),
        enrolled_at=utc_now(),
    )


def enroll(repo: Repository, candidate: Appliance) -> Enrolment:
    known = repo.appliance(candidate.appliance_id)
    if known is None:
        repo.add_appliance(candidate)
        return Enrolment(candidate, created=True)
    if known.signing_public != candidate.signing_public:
        raise AppError(ErrorCode.APPLIANCE_KEY_CONFLICT, appliance_id=candidate.appliance_id)
    return Enrolment(known, created=False)


def renew(repo: Repository, raw: dict[str, Any], where: str) -> Enrolment:
    """`central enroll --renew`: a new signing key for an enrolled appliance, vouched for by the
    key central has on record (edge/renew.py). The appliance row — and with it the batch
    sequence and every batch — stays; only the key changes, audited."""
    candidate = parse_identity(raw, where)
    known = repo.appliance(candidate.appliance_id)
    if known is None:
        raise AppError(ErrorCode.APPLIANCE_UNKNOWN, appliance_id=candidate.appliance_id)
    if known.revoked_at:
        raise AppError(ErrorCode.APPLIANCE_REVOKED, appliance_id=candidate.appliance_id)
    renewal = raw.get("renewal")
    if not isinstance(renewal, dict) or renewal.get("previous_signing_public") != known.signing_public:
        raise AppError(ErrorCode.APPLIANCE_IDENTITY_INVALID, path=where, detail="续期申请须由已登记的签名密钥签署")
    from juanzong.shared.manifest import canonical_json

    body = canonical_json({k: v for k, v in raw.items() if k != "renewal"})
    if not crypto.verify(crypto.load_verify_key(crypto.unb64(known.signing_public)), body, str(renewal.get("signature", ""))):
        raise AppError(ErrorCode.MANIFEST_SIGNATURE_INVALID)
    repo.renew_signing_key(candidate.appliance_id, candidate.signing_public, previous=known.signing_public)
    renewed = repo.appliance(candidate.appliance_id)
    assert renewed is not None
    return Enrolment(renewed, created=False)
