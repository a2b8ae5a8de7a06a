"""Decrypted content for readable exports: page masters and each item's PDF.

This is the only place an export opens a blob. It decrypts in memory; the
caller writes only to the path the archive office chose. Every item opened is
one audit row naming the export, the operator and the destination.

An item's PDF is the document the appliance built and synced (stamped, and
searchable once OCR has read it: `central.documents`) whenever central holds
one for exactly the item's current pages. Only when none is stored, or the
stored one no longer holds the item's pages (a rescan arrived after it), is
the PDF assembled here from the page masters, with a Chinese note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

import img2pdf

from juanzong.central import audit, documents, storage
from juanzong.central.export.model import ItemEntry, PageEntry
from juanzong.central.home import Central
from juanzong.central.pages import decrypt_page
from juanzong.shared import crypto
from juanzong.shared.audit import Action
from juanzong.shared.errors import AppError, ErrorCode

NOTE_NO_DOCUMENT = "中心未存有扫描点生成的文档，已由页面原图组成（无文字层）"
NOTE_STALE_DOCUMENT = "扫描点生成的文档与当前页面不一致（其后有补扫或改动），已由页面原图组成（无文字层）"


@dataclass(frozen=True)
class ItemDocument:
    """An item's PDF for an export, and where it came from."""

    pdf: bytes
    stored: bool  # the appliance's document (True) or assembled here from the masters (False)
    document_id: str | None = None
    searchable: bool = False
    note: str = ""  # why it was assembled here

    def to_index(self) -> dict[str, object]:
        return {
            "pdf_source": "appliance_document" if self.stored else "assembled_from_masters",
            "document_id": self.document_id,
            "searchable": self.searchable,
            "note": self.note,
        }


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


def open_item(central: Central, item: ItemEntry, *, actor: str, purpose: str, destination: str, note: str = "") -> list[bytes]:
    """Every numbered page master of the item, in order; audited as one read of the item."""
    extra = {"note": note} if note else {}
    audit.record(
        central.repo.engine,
        actor=actor,
        action=Action.EXPORT,
        target=item.item_id,
        purpose=purpose,
        destination=destination,
        pages=len(item.pages),
        key_use="hpke",
        **extra,
    )
    return [page_master(central, p) for p in item.pages]


def item_document(
    central: Central, item: ItemEntry, *, actor: str, purpose: str, destination: str, masters: list[bytes] | None = None
) -> ItemDocument:
    """The item's stored searchable PDF when central holds one for its current pages, else one assembled
    from the masters (given, or opened here) with a note; either way one audit row names the source."""
    ref = documents.current_document(central, item.item_id)
    if ref is not None and holds_current_pages(ref, item):
        audit.record(
            central.repo.engine,
            actor=actor,
            action=Action.EXPORT,
            target=item.item_id,
            purpose=purpose,
            destination=destination,
            document=ref.document_id,
            searchable=ref.searchable,
            key_use="hpke",
        )
        return ItemDocument(documents.decrypt_document(central, ref), True, ref.document_id, ref.searchable)
    note = NOTE_NO_DOCUMENT if ref is None else NOTE_STALE_DOCUMENT
    if masters is None:
        masters = open_item(central, item, actor=actor, purpose=purpose, destination=destination, note=note)
    return ItemDocument(item_pdf(masters), False, note=note)


def holds_current_pages(ref: documents.DocumentRef, item: ItemEntry) -> bool:
    """The stored document holds exactly the item's numbered pages, in order (no rescan since)."""
    return ref.page_ids == tuple(p.page_id for p in item.pages)
