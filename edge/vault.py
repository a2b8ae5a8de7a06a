"""Small encrypted values kept on the appliance: personal data, signatures, receipt copies.

A court's plaintext names, ID numbers and phone numbers may not rest on disk. Each value
is sealed with AES-256-GCM under a key derived from the appliance KEK (HKDF-SHA256, one
key per purpose), with a fresh 96-bit nonce per value, and the AAD binds purpose and row
id: a ciphertext copied to another row or column does not open. Destroying the KEK
shreds every value with it, like the page blobs.

People see masked values only (`mask_id_number`, `mask_phone`); the kiosk never shows a
stored ID number or phone number in full.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from juanzong.shared.errors import AppError, ErrorCode

FORMAT = b"JZV1"
NONCE_LEN = 12


class Purpose(StrEnum):
    ID_NUMBER = "id_number"
    PHONE = "phone"
    SIGNATURE = "signature"
    RECEIPT_COPY = "receipt_copy"


@dataclass(frozen=True)
class Vault:
    """Seals and opens values for one appliance (keys derived from its KEK)."""

    kek: bytes

    def _key(self, purpose: Purpose) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"juanzong/vault/v1|{purpose}".encode())
        return hkdf.derive(self.kek)

    def seal(self, purpose: Purpose, row_id: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_LEN)
        aad = f"{purpose}|{row_id}".encode()
        return FORMAT + nonce + AESGCM(self._key(purpose)).encrypt(nonce, plaintext, aad)

    def open(self, purpose: Purpose, row_id: str, sealed: bytes) -> bytes:
        if not sealed.startswith(FORMAT) or len(sealed) < len(FORMAT) + NONCE_LEN + 16:
            raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=f"{purpose}:{row_id}")
        nonce, body = sealed[len(FORMAT) : len(FORMAT) + NONCE_LEN], sealed[len(FORMAT) + NONCE_LEN :]
        try:
            return AESGCM(self._key(purpose)).decrypt(nonce, body, f"{purpose}|{row_id}".encode())
        except InvalidTag as exc:
            raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=f"{purpose}:{row_id}") from exc

    def seal_text(self, purpose: Purpose, row_id: str, text: str) -> bytes | None:
        return self.seal(purpose, row_id, text.encode("utf-8")) if text else None

    def open_text(self, purpose: Purpose, row_id: str, sealed: bytes | None) -> str:
        return self.open(purpose, row_id, sealed).decode("utf-8") if sealed else ""


def mask_id_number(text: str) -> str:
    """110101********1234: region and last four stay, so a clerk can match a card."""
    if len(text) <= 7:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:] if len(text) > 10 else text[:3] + "*" * (len(text) - 5) + text[-2:]


def mask_phone(text: str) -> str:
    """138****5678."""
    if len(text) < 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]
