"""What a signed, typed manifest must pass before anything is stored.

Field presence, types, identifier formats, text lengths and value sets are the
`Manifest` struct's job (shared/manifest.py): decoding already refused them.
What is left needs the database: every record the manifest writes and every
record it points at belongs to the sending appliance — a page may only join
this appliance's items, an item only this appliance's intakes — and exists
(in this batch or an earlier one). `owners(table, ids)` returns `{id: appliance}`
for the ids already stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import Manifest

Owners = Callable[[str, set[str]], dict[str, str]]


def check_ownership(doc: Manifest, owners: Owners) -> None:
    """Refuse (MANIFEST_RECORD_FOREIGN) any record written or referenced that another appliance owns."""
    written = {
        "intakes": {i.intake_id for i in doc.intakes},
        "items": {i.item_id for i in doc.items},
        "pages": {p.page_id for p in doc.pages},
    }
    referenced = {
        "intakes": {i.intake_id for i in doc.items},
        "items": {p.item_id for p in doc.pages if p.item_id is not None},
        "pages": {ref for p in doc.pages for ref in (p.replaces, p.replaced_by) if ref is not None},
    }
    written["documents"] = {d.document_id for d in doc.documents}
    written["notices"] = {n.notice_id for n in doc.notices}
    referenced["items"] |= {d.item_id for d in doc.documents} | {n.item_id for n in doc.notices}
    referenced["documents"] = {n.document_id for n in doc.notices}
    referenced["notices"] = set()
    documents_pages = {pid for d in doc.documents for pid in d.page_ids}
    _refuse_foreign(doc.appliance_id, owners("pages", documents_pages).items())
    unknown = documents_pages - written["pages"] - set(owners("pages", documents_pages - written["pages"]))
    if unknown:  # a document is built from stored pages: they travel before it or with it
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"文档引用了未知的页面 {', '.join(sorted(unknown)[:3])}")
    for table in ("intakes", "items", "pages", "documents", "notices"):
        ids = written[table] | referenced[table]
        _refuse_foreign(doc.appliance_id, owners(table, ids).items())
        unknown = referenced[table] - written[table] - set(owners(table, referenced[table] - written[table]))
        if unknown and table != "pages":  # a replaced page may have travelled in a batch not yet here
            what = {
                "intakes": "材料引用了未知的收取登记",
                "items": "页面或文档引用了未知的材料",
                "documents": "入卷提醒引用了未知的文档",
            }.get(table, "引用了未知的记录")
            raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"{what} {', '.join(sorted(unknown))}")


def _refuse_foreign(appliance_id: str, stored: Iterable[tuple[str, str]]) -> None:
    foreign = sorted(record_id for record_id, owner in stored if owner != appliance_id)
    if foreign:
        raise AppError(ErrorCode.MANIFEST_RECORD_FOREIGN, record_id=foreign[0], count=len(foreign))
