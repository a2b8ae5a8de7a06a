"""Checks a signed, schema-valid manifest must pass before anything is stored.

`shared.manifest.validate_manifest` checks that the fields are there; these
check what central relies on when it stores them: the types of the columns it
writes, and that every item and page points at an intake or item that exists
(in this batch or an earlier one). The field table is data, so adding a field
to the schema is one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from juanzong.shared.errors import AppError, ErrorCode

INT64 = 2**63  # what a database integer column holds
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))

FIELD_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "manifest": {"appliance_id": (str,), "batch_id": (str,), "seq": (int,), "intakes": (list,), "items": (list,), "pages": (list,)},
    "intake": {"intake_id": (str,), "case_number": (str,), "submitter": (str,), "received_at": (str,), "deadline": (str,)},
    "item": {"item_id": (str,), "intake_id": (str,), "seq": (int,), "name": (str,), "declared_pages": (int,), "volume": (str,)},
    "page": {"page_id": (str,), "item_id": _OPT_STR, "page_no": _OPT_INT, "side": (str,), "source_sha256": (str,)},
    "blob": {"sha256": (str,), "size": (int,), "kind": (str,), "sealed_key": (str,)},
    "document": {"document_id": (str,), "item_id": (str,), "version": (int,), "searchable": (bool,), "page_ids": (list,),
                 "file_name": (str,), "place": (dict,)},
    "notice": {"notice_id": (str,), "item_id": (str,), "document_id": (str,), "kind": (str,), "case_number": (str,),
               "item_name": (str,), "pages": (int,), "created_at": (str,)},
}


def check_types(doc: dict[str, Any]) -> None:
    _typed(doc, "manifest", "")
    for intake in doc["intakes"]:
        _typed(intake, "intake", intake["intake_id"])
    for item in doc["items"]:
        _typed(item, "item", item["item_id"])
        if item["declared_pages"] < 0:
            raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"材料 {item['item_id']} 的申报页数为负数")
    for page in doc["pages"]:
        _typed(page, "page", page["page_id"])
        _typed(page["blob"], "blob", page["page_id"])
    for document in doc.get("documents", []):
        _typed(document, "document", document["document_id"])
        _typed(document["blob"], "blob", document["document_id"])
        if not document["page_ids"] or not all(isinstance(p, str) for p in document["page_ids"]):
            raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"文档 {document['document_id']} 的页面列表无效")
    for notice in doc.get("notices", []):
        _typed(notice, "notice", notice["notice_id"])
    if doc["seq"] < 0:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="批次序号为负数")


def _typed(obj: dict[str, Any], what: str, where: Any) -> None:
    for name, types in FIELD_TYPES[what].items():
        value = obj[name]
        # bool is an int subclass; a `true` page count is a broken producer, not a 1
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"{what} {where} 的字段 {name} 类型不正确")
        if isinstance(value, int) and not -INT64 <= value < INT64:
            raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"{what} {where} 的字段 {name} 超出范围")


def check_references(doc: dict[str, Any], stored: Callable[[str, set[str]], set[str]]) -> None:
    """Every item's intake and every page's item is in this batch or already stored.

    `stored(table, ids)` returns which of `ids` the database already holds.
    """
    intake_ids = {i["intake_id"] for i in doc["intakes"]}
    wanted = {i["intake_id"] for i in doc["items"]} - intake_ids
    unknown = wanted - stored("intakes", wanted)
    if unknown:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"材料引用了未知的收取登记 {', '.join(sorted(unknown))}")
    item_ids = {i["item_id"] for i in doc["items"]}
    wanted = {p["item_id"] for p in doc["pages"] if p["item_id"] is not None} - item_ids
    unknown = wanted - stored("items", wanted)
    if unknown:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"页面引用了未知的材料 {', '.join(sorted(unknown))}")
    _check_documents(doc, item_ids, stored)


def _check_documents(doc: dict[str, Any], item_ids: set[str], stored: Callable[[str, set[str]], set[str]]) -> None:
    """A document's item and pages, and a notice's document, are in this batch or already stored."""
    documents = doc.get("documents", [])
    wanted = {d["item_id"] for d in documents} | {n["item_id"] for n in doc.get("notices", [])}
    unknown = (wanted - item_ids) - stored("items", wanted - item_ids)
    if unknown:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"文档引用了未知的材料 {', '.join(sorted(unknown))}")
    page_ids = {p["page_id"] for p in doc["pages"]}
    wanted = {pid for d in documents for pid in d["page_ids"]} - page_ids
    unknown = wanted - stored("pages", wanted)
    if unknown:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"文档引用了未知的页面 {', '.join(sorted(unknown)[:3])}")
    document_ids = {d["document_id"] for d in documents}
    wanted = {n["document_id"] for n in doc.get("notices", [])} - document_ids
    unknown = wanted - stored("documents", wanted)
    if unknown:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail=f"入卷提醒引用了未知的文档 {', '.join(sorted(unknown))}")
