"""Opening a stored page with central's HPKE key (inspection, export, verify).

The AAD that binds a ciphertext to its row is rebuilt from the manifest's
record (appliance id, blob id = page id, kind), so a blob swapped under
another page id fails to open instead of showing the wrong page.
"""

from __future__ import annotations

from juanzong.central import audit, storage
from juanzong.central.home import Central
from juanzong.central.repository import PageRef
from juanzong.shared import crypto
from juanzong.shared.audit import Action
from juanzong.shared.errors import AppError, ErrorCode


def decrypt_page(central: Central, ref: PageRef, data: bytes) -> bytes:
    try:
        sealed = crypto.unb64(ref.sealed_key)
    except ValueError as exc:
        raise AppError(ErrorCode.DECRYPT_FAILED, blob_id=ref.page_id) from exc
    return open_with_any_key(central, data, sealed, ref)


def open_with_any_key(central: Central, data: bytes, sealed: bytes, ref: PageRef) -> bytes:
    """The current HPKE key first, then the retired ones (a rotation keeps old blobs readable)."""
    failure: AppError | None = None
    for key in central.keys.hpke_all:
        try:
            return crypto.open_blob_central(
                data, sealed, private_key=key, appliance_id=ref.appliance_id, blob_id=ref.page_id, kind=ref.blob_kind
            )
        except AppError as err:
            failure = err
    assert failure is not None
    raise failure


def open_page(central: Central, page_id: str, actor: str = "archive office") -> bytes:
    """The plaintext of one page, checked against the source hash the appliance recorded.
    Opening a page is a use of central's HPKE key: audited, also when refused."""
    ref = central.repo.page(page_id)
    if ref is None:
        raise AppError(ErrorCode.PAGE_NOT_FOUND, page_id=page_id)
    audit.record(central.repo.engine, actor=actor, action=Action.EXPORT, target=page_id, key_use="hpke")
    try:
        data = storage.get(central.store, ref.blob_sha256)
    except KeyError as exc:
        raise AppError(ErrorCode.KEY_MISSING, key=f"blob {ref.blob_sha256}") from exc
    plain = decrypt_page(central, ref, data)
    if crypto.sha256_hex(plain) != ref.source_sha256:
        raise AppError(ErrorCode.STORE_VERIFY_FAILED, blob_id=page_id)
    return plain
