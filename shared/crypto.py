"""Envelope encryption of blobs, and the signatures both sides use.

Two suites (`shared/suites.py`): `aes` as below, and the 商用密码 suite `sm` (SM4-GCM with a
128-bit data key, SM4-GCM local wrap, SM3 content hash beside the SHA-256). The blob file
names its suite in its first bytes, so every reader opens both.

One blob = one fresh 256-bit data key, used for exactly one AES-256-GCM
encryption with a random 96-bit nonce, so no nonce state has to survive a
crash and the GCM limits can never be reached. The AAD binds appliance id,
blob id and kind: a ciphertext moved to another row fails to open.

The data key is kept twice:
- wrapped with the appliance's key-encryption key (AES-KW, RFC 3394) for
  local reads; destroying this wrap is how a purge shreds the blob;
- sealed to the central public key (HPKE, X25519 / HKDF-SHA256 / AES-256-GCM,
  with the same identity as `info`) so that only central can open it after
  the hand-off.

`seal_blob` opens its own result before returning it (restic's verify after
encrypt): a blob that could not be read back is never written.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from juanzong.shared import suites
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.suites import Suite

BLOB_FORMAT = b"JZB1"  # magic + format version at the head of every aes-suite blob file (sm: b"JZS1")
NONCE_LEN = suites.NONCE_LEN
_HPKE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def blob_aad(appliance_id: str, blob_id: str, kind: str, suite: Suite = Suite.AES) -> bytes:
    return f"{suites.SPECS[suite].aad_prefix}|{appliance_id}|{blob_id}|{kind}".encode()


@dataclass(frozen=True)
class SealedBlob:
    blob_id: str
    kind: str
    data: bytes  # suite magic + nonce + ciphertext-with-tag: what goes to disk
    wrapped_local: bytes  # the data key under the appliance KEK (AES-KW, or SM4-GCM in the sm suite)
    sealed_central: bytes  # HPKE seal of the data key to central
    plain_sha256: str
    suite: Suite = Suite.AES

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)

    @property
    def sm3(self) -> str | None:
        """The sm suite's content hash of the ciphertext, carried in the manifest beside the SHA-256
        (storage and sync stay addressed by SHA-256 on both sides)."""
        return suites.sm3_hex(self.data) if self.suite is Suite.SM else None

    @property
    def size(self) -> int:
        return len(self.data)


def seal_blob(
    plaintext: bytes,
    *,
    appliance_id: str,
    blob_id: str,
    kind: str,
    kek: bytes,
    central_public: X25519PublicKey,
    plain_sha256: str | None = None,
    suite: Suite = Suite.AES,
) -> SealedBlob:
    """`plain_sha256`, when the caller already hashed the plaintext, saves a pass."""
    suite = Suite(suite)
    aad = blob_aad(appliance_id, blob_id, kind, suite)
    data_key = suites.new_data_key(suite)
    nonce = os.urandom(NONCE_LEN)
    data = suites.SPECS[suite].magic + nonce + suites.aead_encrypt(suite, data_key, nonce, plaintext, aad)
    sealed = SealedBlob(
        blob_id=blob_id,
        kind=kind,
        data=data,
        wrapped_local=suites.wrap_local(suite, kek, data_key, aad),
        sealed_central=_HPKE.encrypt(data_key, central_public, info=aad),
        plain_sha256=plain_sha256 or sha256_hex(plaintext),
        suite=suite,
    )
    reopened = open_blob_local(data, sealed.wrapped_local, kek=kek, appliance_id=appliance_id, blob_id=blob_id, kind=kind)
    if reopened != plaintext:
        raise AppError(ErrorCode.STORE_VERIFY_FAILED, blob_id=blob_id)
    return sealed


def blob_suite(data: bytes, blob_id: str) -> Suite:
    """The suite a blob was written with (its first bytes); DECRYPT_FAILED for anything else."""
    spec = suites.spec_of_blob(data)
    if spec is None or len(data) < len(spec.magic) + NONCE_LEN + suites.TAG_LEN:
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=blob_id)
    return spec.suite


def _decrypt(data: bytes, data_key: bytes, suite: Suite, aad: bytes, blob_id: str) -> bytes:
    head = len(suites.SPECS[suite].magic)
    try:
        return suites.aead_decrypt(suite, data_key, data[head : head + NONCE_LEN], data[head + NONCE_LEN :], aad)
    except suites.Unopenable as exc:
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=blob_id) from exc


def unwrap_data_key(data: bytes, wrapped_local: bytes, *, kek: bytes, appliance_id: str, blob_id: str, kind: str) -> bytes:
    suite = blob_suite(data, blob_id)
    try:
        return suites.unwrap_local(suite, kek, wrapped_local, blob_aad(appliance_id, blob_id, kind, suite))
    except suites.Unopenable as exc:
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=blob_id) from exc


def rewrap_local(data: bytes, wrapped_local: bytes, *, old_kek: bytes, new_kek: bytes, appliance_id: str, blob_id: str, kind: str) -> bytes:
    """The same data key wrapped under a new KEK (key rotation); the blob itself is untouched.
    The new wrap is proved by opening the blob with it before it is returned."""
    suite = blob_suite(data, blob_id)
    data_key = unwrap_data_key(data, wrapped_local, kek=old_kek, appliance_id=appliance_id, blob_id=blob_id, kind=kind)
    rewrapped = suites.wrap_local(suite, new_kek, data_key, blob_aad(appliance_id, blob_id, kind, suite))
    open_blob_local(data, rewrapped, kek=new_kek, appliance_id=appliance_id, blob_id=blob_id, kind=kind)
    return rewrapped


def open_blob_local(data: bytes, wrapped_local: bytes, *, kek: bytes, appliance_id: str, blob_id: str, kind: str) -> bytes:
    suite = blob_suite(data, blob_id)
    data_key = unwrap_data_key(data, wrapped_local, kek=kek, appliance_id=appliance_id, blob_id=blob_id, kind=kind)
    return _decrypt(data, data_key, suite, blob_aad(appliance_id, blob_id, kind, suite), blob_id)


def open_blob_central(
    data: bytes, sealed_central: bytes, *, private_key: X25519PrivateKey, appliance_id: str, blob_id: str, kind: str
) -> bytes:
    suite = blob_suite(data, blob_id)
    aad = blob_aad(appliance_id, blob_id, kind, suite)
    try:
        data_key = _HPKE.decrypt(sealed_central, private_key, info=aad)
    except Exception as exc:  # HPKE raises InvalidTag or ValueError depending on the fault
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=blob_id) from exc
    return _decrypt(data, data_key, suite, aad, blob_id)


def seal_to(plaintext: bytes, public_key: X25519PublicKey, info: bytes) -> bytes:
    """HPKE single-shot seal (a manifest carried on removable media, keys in a backup)."""
    return _HPKE.encrypt(plaintext, public_key, info=info)


def open_sealed(data: bytes, private_key: X25519PrivateKey, info: bytes) -> bytes:
    try:
        return _HPKE.decrypt(data, private_key, info=info)
    except Exception as exc:  # InvalidTag or ValueError depending on the fault
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=info.decode("utf-8", "replace")) from exc


# --- keys as bytes -------------------------------------------------------------------------


def new_kek() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def private_bytes(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def public_bytes(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_signing_key(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_verify_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def load_hpke_private(raw: bytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(raw)


def load_hpke_public(raw: bytes) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(raw)


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return b64(key.sign(message))


def verify(key: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        key.verify(unb64(signature_b64), message)
    except (InvalidSignature, ValueError):
        return False
    return True
