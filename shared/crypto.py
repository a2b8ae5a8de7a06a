"""Envelope encryption of blobs, and the signatures both sides use.

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

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from juanzong.shared.errors import AppError, ErrorCode

BLOB_FORMAT = b"JZB1"  # magic + format version at the head of every blob file
NONCE_LEN = 12
_HPKE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def blob_aad(appliance_id: str, blob_id: str, kind: str) -> bytes:
    return f"juanzong/blob/v1|{appliance_id}|{blob_id}|{kind}".encode("utf-8")


@dataclass(frozen=True)
class SealedBlob:
    blob_id: str
    kind: str
    data: bytes  # BLOB_FORMAT + nonce + ciphertext-with-tag: what goes to disk
    wrapped_local: bytes  # AES-KW of the data key under the appliance KEK
    sealed_central: bytes  # HPKE seal of the data key to central
    plain_sha256: str

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)

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
) -> SealedBlob:
    """`plain_sha256`, when the caller already hashed the plaintext, saves a pass."""
    aad = blob_aad(appliance_id, blob_id, kind)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_LEN)
    data = BLOB_FORMAT + nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)
    sealed = SealedBlob(
        blob_id=blob_id,
        kind=kind,
        data=data,
        wrapped_local=aes_key_wrap(kek, data_key),
        sealed_central=_HPKE.encrypt(data_key, central_public, info=aad),
        plain_sha256=plain_sha256 or sha256_hex(plaintext),
    )
    reopened = open_blob_local(data, sealed.wrapped_local, kek=kek, appliance_id=appliance_id, blob_id=blob_id, kind=kind)
    if reopened != plaintext:
        raise AppError(ErrorCode.STORE_VERIFY_FAILED, blob_id=blob_id)
    return sealed


def _decrypt(data: bytes, data_key: bytes, aad: bytes, blob_id: str) -> bytes:
    if not data.startswith(BLOB_FORMAT) or len(data) < len(BLOB_FORMAT) + NONCE_LEN + 16:
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=blob_id)
    nonce = data[len(BLOB_FORMAT) : len(BLOB_FORMAT) + NONCE_LEN]
    try:
        return AESGCM(data_key).decrypt(nonce, data[len(BLOB_FORMAT) + NONCE_LEN :], aad)
    except InvalidTag as exc:
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=blob_id) from exc


def open_blob_local(data: bytes, wrapped_local: bytes, *, kek: bytes, appliance_id: str, blob_id: str, kind: str) -> bytes:
    try:
        data_key = aes_key_unwrap(kek, wrapped_local)
    except InvalidUnwrap as exc:
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=blob_id) from exc
    return _decrypt(data, data_key, blob_aad(appliance_id, blob_id, kind), blob_id)


def open_blob_central(
    data: bytes, sealed_central: bytes, *, private_key: X25519PrivateKey, appliance_id: str, blob_id: str, kind: str
) -> bytes:
    aad = blob_aad(appliance_id, blob_id, kind)
    try:
        data_key = _HPKE.decrypt(sealed_central, private_key, info=aad)
    except Exception as exc:  # HPKE raises InvalidTag or ValueError depending on the fault
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=blob_id) from exc
    return _decrypt(data, data_key, aad, blob_id)


def seal_to(plaintext: bytes, public_key: X25519PublicKey, info: bytes) -> bytes:
    """HPKE single-shot seal to central (a manifest carried on removable media)."""
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
