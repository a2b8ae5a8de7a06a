"""The two crypto suites a deployment can choose (`crypto_suite` in the appliance settings).

| setting | `Suite` (in every blob reference) | blob cipher | data key | local wrap under the KEK | content hash / HMAC |
|---|---|---|---|---|---|
| `aes` (default) | `aes256gcm-hpke-x25519-ed25519` | AES-256-GCM | 256 bit | AES-KW (RFC 3394) | SHA-256 / HMAC-SHA256 |
| `sm` (商用密码, GB/T 39786) | `sm4gcm-sm3-hpke-x25519-ed25519` | SM4-GCM (GB/T 32907, RFC 8998) | 128 bit | SM4-GCM under an SM4 key derived from the KEK with HKDF-SM3 | SM3 / HMAC-SM3 |

Both come from `cryptography` (OpenSSL's SM4 and SM3; SM4 in GCM mode through the generic
`Cipher(SM4, GCM)` API). The blob file's first four bytes name its suite (`JZB1` = aes,
`JZS1` = sm), and the AAD carries the suite too, so a reader needs nothing but the file to
pick the cipher, and relabelling a blob's suite makes it fail to open. The data key is
sealed to central with HPKE (X25519) in both suites; see the README for what of GB/T 39786
that leaves open.
"""

from __future__ import annotations

import hashlib
import hmac as std_hmac
import os
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

NONCE_LEN = 12
TAG_LEN = 16


class Suite(StrEnum):
    """How a blob is sealed and the manifest signed; the value names every algorithm in it."""

    AES = "aes256gcm-hpke-x25519-ed25519"
    SM = "sm4gcm-sm3-hpke-x25519-ed25519"


SETTING_NAMES = {"aes": Suite.AES, "sm": Suite.SM}  # `crypto_suite` in the appliance settings


class Unopenable(Exception):
    """A tag or unwrap failure: the caller turns it into DECRYPT_FAILED with the blob id."""


@dataclass(frozen=True)
class SuiteSpec:
    suite: Suite
    magic: bytes  # head of the blob file
    key_len: int  # data key length in bytes
    aad_prefix: str


SPECS = {
    Suite.AES: SuiteSpec(Suite.AES, b"JZB1", 32, "juanzong/blob/v1"),
    Suite.SM: SuiteSpec(Suite.SM, b"JZS1", 16, "juanzong/blob/sm1"),
}
_BY_MAGIC = {s.magic: s for s in SPECS.values()}


def spec_of_blob(data: bytes) -> SuiteSpec | None:
    """The suite a blob file was written with, from its first four bytes."""
    return _BY_MAGIC.get(bytes(data[:4]))


# --- content hashes and MACs ------------------------------------------------------------------


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def content_hash(suite: Suite, data: bytes) -> str:
    return sm3_hex(data) if suite is Suite.SM else hashlib.sha256(data).hexdigest()


def mac(suite: Suite, key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 or HMAC-SHA256 (keyed indexes, derived keys)."""
    h = c_hmac.HMAC(key, hashes.SM3() if suite is Suite.SM else hashes.SHA256())
    h.update(data)
    return h.finalize()


def macs_equal(a: bytes, b: bytes) -> bool:
    return std_hmac.compare_digest(a, b)


# --- AEAD -------------------------------------------------------------------------------------


def new_data_key(suite: Suite) -> bytes:
    return os.urandom(SPECS[suite].key_len)


def aead_encrypt(suite: Suite, key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Ciphertext with the 16-byte tag appended (both suites, the same layout)."""
    if suite is Suite.AES:
        return AESGCM(key).encrypt(nonce, plaintext, aad)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    return enc.update(plaintext) + enc.finalize() + enc.tag


def aead_decrypt(suite: Suite, key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    try:
        if suite is Suite.AES:
            return AESGCM(key).decrypt(nonce, ciphertext, aad)
        if len(ciphertext) < TAG_LEN:
            raise Unopenable("short")
        body, tag = ciphertext[:-TAG_LEN], ciphertext[-TAG_LEN:]
        dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(aad)
        return dec.update(body) + dec.finalize()
    except (InvalidTag, ValueError) as exc:
        raise Unopenable(str(exc)) from exc


# --- the local wrap of a data key under the appliance KEK --------------------------------------


def _sm4_kek(kek: bytes) -> bytes:
    return HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=b"juanzong/kek/sm4-wrap/v1").derive(kek)


def wrap_local(suite: Suite, kek: bytes, data_key: bytes, aad: bytes) -> bytes:
    if suite is Suite.AES:
        return aes_key_wrap(kek, data_key)
    nonce = os.urandom(NONCE_LEN)
    return nonce + aead_encrypt(Suite.SM, _sm4_kek(kek), nonce, data_key, b"wrap|" + aad)


def unwrap_local(suite: Suite, kek: bytes, wrapped: bytes, aad: bytes) -> bytes:
    if suite is Suite.AES:
        try:
            return aes_key_unwrap(kek, wrapped)
        except (InvalidUnwrap, ValueError) as exc:
            raise Unopenable(str(exc)) from exc
    return aead_decrypt(Suite.SM, _sm4_kek(kek), wrapped[:NONCE_LEN], wrapped[NONCE_LEN:], b"wrap|" + aad)
