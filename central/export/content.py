"""Decrypted content for readable exports: page masters and each item's PDF.

This is the only place an export opens a blob. It decrypts in memory; the
caller writes only to the path the archive office chose. Every item opened is
one audit row naming the export, the operator and the destination.
"""

from __future__ import annotations

import img2pdf

from juanzong.central import audit, storage
from juanzong.central.export.model import ItemEntry, PageEntry
from juanzong.central.home import Central
from juanzong.central.pages import decrypt_page
from juanzong.shared import crypto
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.audit import Action

_EXT = {b"\xff\xd8\xff": "jpg", b"\x89PNG": "png", b"II*\x00": "tif", b"MM\x00*": "tif", b"%PDF": "pdf"}


def page_master(central: Central, page: PageEntry) -> bytes:
    """The scanned file as the scanner wrote it, checked against the hash the appliance recorded."""
    ref = central.repo.page(page.page_id)
    if ref is None:
        raise AppError(ErrorCode.PAGE_NOT_FOUND, page_id=page.page_id)
    try:
        plain = decrypt_page(central, ref, storage.get(central.store, ref.blob_sha256))
    except KeyError as exc:
        raise AppError(ErrorCode.EXPORT_FAILED, detail=f"页面 {page.page_id} 的数据块缺失，请运行 central verify") from exc
    if crypto.sha256_hex(plain) != ref.source_sha256:
        raise AppError(ErrorCode.STORE_VERIFY_FAILED, blob_id=page.page_id)
    return plain


def extension(data: bytes) -> str:
    return next((ext for magic, ext in _EXT.items() if data.startswith(magic)), "bin")


def item_pdf(masters: list[bytes]) -> bytes:
    """The item as one PDF with every master embedded untouched (img2pdf: JPEG passthrough, lossless otherwise)."""
    if not masters:
        raise AppError(ErrorCode.EXPORT_FAILED, detail="材料没有已编号的页面")
    try:
        return img2pdf.convert(masters, rotation=img2pdf.Rotation.ifvalid)
    except Exception as exc:  # img2pdf raises its own ImageOpenError / ValueError family
        raise AppError(ErrorCode.EXPORT_FAILED, detail="页面图像无法组成 PDF") from exc


def open_item(central: Central, item: ItemEntry, *, actor: str, purpose: str, destination: str) -> list[bytes]:
    """Every numbered page master of the item, in order; audited as one read of the item."""
    audit.record(central.repo.engine, actor=actor, action=Action.EXPORT, target=item.item_id, purpose=purpose,
                 destination=destination, pages=len(item.pages), key_use="hpke")
    return [page_master(central, p) for p in item.pages]
