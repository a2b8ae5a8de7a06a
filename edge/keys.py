"""The appliance's keys, kept in the keys directory (never beside `data/`).

- `kek.key`: the 256-bit key-encryption key that wraps every blob's data key
  for local reads (on a production box: TPM-sealed and unsealed into ramfs).
- `signing.key`: Ed25519, signs batch manifests: central knows the appliance
  by its public half (enrolment).
- `central-identity.json`: central's public keys (HPKE seal target, receipt
  signatures), URL, private CA and server-certificate fingerprint, as
  `central init` wrote them; the CA is also kept as `central-ca.crt`.
- `tls-client.key` / `tls-client.crt`: the appliance's TLS client key (made
  here, never leaves) and the certificate central's CA issued for it at
  enrolment (`edge pair --enrolment`).

Every use of a key is audited by the caller (the operation is the audit row).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.x509.oid import NameOID

from juanzong.shared import crypto, tlsca
from juanzong.shared.durable import write_durable
from juanzong.shared.errors import AppError, ErrorCode

KEK_FILE = "kek.key"
NEW_KEK_FILE = "kek.key.new"  # only while `edge keys rotate` runs (edge/rotate.py)
SIGNING_FILE = "signing.key"
CENTRAL_FILE = "central-identity.json"
CA_FILE = "central-ca.crt"
CLIENT_KEY = "tls-client.key"
CLIENT_CERT = "tls-client.crt"


@dataclass(frozen=True)
class CentralIdentity:
    central_id: str
    url: str
    hpke_public: X25519PublicKey
    signing_public: Ed25519PublicKey
    tls_fingerprint: str | None = None  # SHA-256 of central's server certificate, pinned

    @classmethod
    def from_json(cls, raw: dict) -> CentralIdentity:
        try:
            return cls(
                central_id=raw["central_id"],
                url=raw.get("url", ""),
                hpke_public=crypto.load_hpke_public(crypto.unb64(raw["hpke_public"])),
                signing_public=crypto.load_verify_key(crypto.unb64(raw["signing_public"])),
                tls_fingerprint=raw.get("tls_fingerprint"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"中心身份文件无效：{exc}") from exc


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path
    fingerprint: str


@dataclass(frozen=True)
class ApplianceKeys:
    kek: bytes
    signing: Ed25519PrivateKey
    central: CentralIdentity


def write_secret(path: Path, data: bytes) -> None:
    """A new key file, owner-only; never replaces an existing one (FileExistsError)."""
    write_durable(path, data, 0o600, exclusive=True)


def create_keys(keys_dir: Path, appliance_id: str) -> tuple[Ed25519PrivateKey, str]:
    """KEK, signing key and TLS client key; returns the signing key and the TLS CSR."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    write_secret(keys_dir / KEK_FILE, crypto.new_kek())
    signing = Ed25519PrivateKey.generate()
    write_secret(keys_dir / SIGNING_FILE, crypto.private_bytes(signing))
    tls_key = tlsca.new_key()
    write_secret(keys_dir / CLIENT_KEY, tlsca.key_pem(tls_key))
    return signing, tlsca.new_csr(tls_key, appliance_id).decode("ascii")


def install_central_identity(keys_dir: Path, identity_file: Path) -> CentralIdentity:
    raw = json.loads(identity_file.read_text("utf-8"))
    identity = CentralIdentity.from_json(raw)  # validate before installing
    if raw.get("ca_cert"):
        write_durable(keys_dir / CA_FILE, raw["ca_cert"].encode("ascii"))
    write_durable(keys_dir / CENTRAL_FILE, json.dumps(raw, ensure_ascii=False, indent=2).encode("utf-8"))
    return identity


def install_enrolment(keys_dir: Path, enrolment_file: Path, appliance_id: str) -> None:
    """The client certificate central issued at enrolment, checked to be ours."""
    raw = json.loads(enrolment_file.read_text("utf-8"))
    pem = raw.get("client_cert", "")
    try:
        cert = tlsca.load_cert(pem.encode("ascii"))
    except ValueError as exc:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"登记文件中没有有效的客户端证书：{exc}") from exc
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    own = tlsca.load_key((keys_dir / CLIENT_KEY).read_bytes()).public_key()
    renewing = (keys_dir / (CLIENT_KEY + ".new")).exists() and tlsca.load_key(
        (keys_dir / (CLIENT_KEY + ".new")).read_bytes()
    ).public_key() == cert.public_key()
    if raw.get("appliance_id") != appliance_id or names != [appliance_id] or (cert.public_key() != own and not renewing):
        raise AppError(ErrorCode.SETTINGS_INVALID, detail="登记文件不是本设备的（设备编号或密钥不符）")
    write_durable(keys_dir / CLIENT_CERT, pem.encode("ascii"))
    if renewing:  # `edge keys renew` → `central enroll --renew`: the new keys take over (edge/renew.py)
        from juanzong.edge.renew import complete_if_renewed

        complete_if_renewed(keys_dir, cert.public_key())


def tls_files(keys_dir: Path, central: CentralIdentity) -> TlsFiles | None:
    """The files for mutual TLS, or None before the appliance has been paired for TLS."""
    paths = (keys_dir / CA_FILE, keys_dir / CLIENT_CERT, keys_dir / CLIENT_KEY)
    if not all(p.exists() for p in paths) or not central.tls_fingerprint:
        return None
    return TlsFiles(*paths, fingerprint=central.tls_fingerprint)


def load_keys(keys_dir: Path) -> ApplianceKeys:
    if (keys_dir / NEW_KEK_FILE).exists():
        raise AppError(ErrorCode.KEY_ROTATION_PENDING, key=str(keys_dir / NEW_KEK_FILE))
    return ApplianceKeys(
        kek=_read(keys_dir / KEK_FILE),
        signing=crypto.load_signing_key(_read(keys_dir / SIGNING_FILE)),
        central=load_central(keys_dir),
    )


def load_kek(keys_dir: Path) -> bytes:
    """The KEK alone (the kiosk's vault needs no central identity)."""
    return _read(keys_dir / KEK_FILE)


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
