"""The appliance's keys, kept in the keys directory (never beside `data/`).

- `kek.key`: the 256-bit key-encryption key that wraps every blob's data key
  for local reads (on a production box: TPM-sealed and unsealed into ramfs).
- `signing.key`: Ed25519, signs batch manifests: central knows the appliance
  by its public half (enrolment).
- `central-identity.json`: central's public keys (HPKE seal target, receipt
  signatures) and URL, as `central init` wrote them.

Every use of a key is audited by the caller (the operation is the audit row).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from shared import crypto
from shared.errors import AppError, ErrorCode

KEK_FILE = "kek.key"
SIGNING_FILE = "signing.key"
CENTRAL_FILE = "central-identity.json"


@dataclass(frozen=True)
class CentralIdentity:
    central_id: str
    url: str
    hpke_public: X25519PublicKey
    signing_public: Ed25519PublicKey

    @classmethod
    def from_json(cls, raw: dict) -> "CentralIdentity":
        try:
            return cls(
                central_id=raw["central_id"],
                url=raw.get("url", ""),
                hpke_public=crypto.load_hpke_public(crypto.unb64(raw["hpke_public"])),
                signing_public=crypto.load_verify_key(crypto.unb64(raw["signing_public"])),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"中心身份文件无效：{exc}") from exc


@dataclass(frozen=True)
class ApplianceKeys:
    kek: bytes
    signing: Ed25519PrivateKey
    central: CentralIdentity


def write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def create_keys(keys_dir: Path) -> Ed25519PrivateKey:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    write_secret(keys_dir / KEK_FILE, crypto.new_kek())
    signing = Ed25519PrivateKey.generate()
    write_secret(keys_dir / SIGNING_FILE, crypto.private_bytes(signing))
    return signing


def install_central_identity(keys_dir: Path, identity_file: Path) -> CentralIdentity:
    raw = json.loads(identity_file.read_text("utf-8"))
    identity = CentralIdentity.from_json(raw)  # validate before installing
    (keys_dir / CENTRAL_FILE).write_text(json.dumps(raw, ensure_ascii=False, indent=2), "utf-8")
    return identity


def load_keys(keys_dir: Path) -> ApplianceKeys:
    return ApplianceKeys(
        kek=_read(keys_dir / KEK_FILE),
        signing=crypto.load_signing_key(_read(keys_dir / SIGNING_FILE)),
        central=load_central(keys_dir),
    )


def load_central(keys_dir: Path) -> CentralIdentity:
    path = keys_dir / CENTRAL_FILE
    if not path.exists():
        raise AppError(ErrorCode.KEY_MISSING, key=str(path))
    return CentralIdentity.from_json(json.loads(path.read_text("utf-8")))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise AppError(ErrorCode.KEY_MISSING, key=str(path)) from exc
