"""Central's own keys and the identity file appliances install.

- `signing.key`: Ed25519, signs receipts; appliances check them with the
  public half from `central-identity.json`.
- `hpke.key`: X25519, the HPKE recipient key every blob's data key is sealed
  to; only central can open a page after the hand-off.
- `hpke-retired-<key id>.key`: earlier HPKE keys after `central keys rotate-hpke`,
  kept for reading the blobs sealed to them (appliances seal to the new key once
  they install the new identity with `edge pair --central`).

Both are raw 32-byte files, 0600 in a 0700 directory. `central_id` is a
fingerprint of the signing key (kind letter `C`, Crockford body, Luhn check,
as shared/ids.py), so the id on a screen and the key that signs can never drift.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from juanzong.shared import crypto
from juanzong.shared.durable import fsync_dir, write_durable
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import ALPHABET, BODY_LEN, luhn_check_char

SIGNING_FILE = "signing.key"
HPKE_FILE = "hpke.key"
RETIRED_HPKE = "hpke-retired-{}.key"
CENTRAL_KIND = "C"


@dataclass(frozen=True)
class CentralKeys:
    signing: Ed25519PrivateKey
    hpke: X25519PrivateKey
    retired_hpke: tuple[X25519PrivateKey, ...] = ()  # older keys, kept to read what was sealed to them

    @property
    def hpke_all(self) -> tuple[X25519PrivateKey, ...]:
        """Every HPKE key that may have sealed a stored blob, the current one first."""
        return (self.hpke, *self.retired_hpke)

    @property
    def signing_public(self) -> bytes:
        return crypto.public_bytes(self.signing.public_key())

    @property
    def hpke_public(self) -> bytes:
        return crypto.public_bytes(self.hpke.public_key())

    @property
    def central_id(self) -> str:
        return central_id_for(self.signing_public)


def central_id_for(signing_public: bytes) -> str:
    bits = int.from_bytes(hashlib.sha256(signing_public).digest()[:5], "big")  # 40 bits = 8 chars
    body = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(BODY_LEN)))
    return CENTRAL_KIND + body + luhn_check_char(CENTRAL_KIND + body)


def create_keys(keys_dir: Path) -> CentralKeys:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    if any((keys_dir / name).exists() for name in (SIGNING_FILE, HPKE_FILE)):
        raise AppError(ErrorCode.HOME_EXISTS, home=str(keys_dir))  # never overwrite a key
    keys = CentralKeys(signing=Ed25519PrivateKey.generate(), hpke=X25519PrivateKey.generate())
    for name, raw in ((SIGNING_FILE, crypto.private_bytes(keys.signing)), (HPKE_FILE, crypto.private_bytes(keys.hpke))):
        write_durable(keys_dir / name, raw, mode=0o600)
    fsync_dir(keys_dir)
    return keys


def load_keys(keys_dir: Path) -> CentralKeys:
    return CentralKeys(
        signing=crypto.load_signing_key(_read(keys_dir / SIGNING_FILE)),
        hpke=crypto.load_hpke_private(_read(keys_dir / HPKE_FILE)),
        retired_hpke=tuple(crypto.load_hpke_private(_read(p)) for p in sorted(keys_dir.glob(RETIRED_HPKE.format("*")))),
    )


def hpke_key_id(key: X25519PrivateKey) -> str:
    return hashlib.sha256(crypto.public_bytes(key.public_key())).hexdigest()[:16]


def rotate_hpke(keys_dir: Path) -> tuple[str, str]:
    """A new HPKE key; the old one is kept as retired (read-only use). Returns (old id, new id).
    Order: the old key is copied to its retired name first, so a crash never loses it."""
    old = load_keys(keys_dir).hpke
    retired = keys_dir / RETIRED_HPKE.format(hpke_key_id(old))
    if not retired.exists():
        write_durable(retired, crypto.private_bytes(old), mode=0o600)
    new = X25519PrivateKey.generate()
    write_durable(keys_dir / HPKE_FILE, crypto.private_bytes(new), mode=0o600)
    fsync_dir(keys_dir)
    return hpke_key_id(old), hpke_key_id(new)


def identity(keys: CentralKeys, url: str) -> dict[str, Any]:
    """What `central-identity.json` holds: public halves only."""
    return {
        "central_id": keys.central_id,
        "signing_public": crypto.b64(keys.signing_public),
        "hpke_public": crypto.b64(keys.hpke_public),
        "url": url,
    }


def _read(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise AppError(ErrorCode.KEY_MISSING, key=str(path)) from exc
    if len(raw) != 32:
        raise AppError(ErrorCode.KEY_MISSING, key=f"{path}（长度 {len(raw)}，应为 32 字节）")
    return raw
