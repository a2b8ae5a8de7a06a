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
    if doc["seq"] < 0:
        raise AppError(ErrorCode.MANIFEST_SCHEMA_INVALID, detail="批次序号为负数")


def _typed(obj: dict[str, Any], what: str, where: Any) -> None:
    for name, types in FIELD_TYPES[what].items():
        value = obj[name]
        # bool is an int subclass; a `true` page count is a broken producer, not a 1
        if isinstance(value, bool) or not isinstance(value, types):
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
