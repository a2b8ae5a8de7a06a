"""Receiving documents and filing notices: rows written inside the batch's transaction.

A document (an item's PDF) and a notice never change once sent: a rebuilt PDF is
a new document id (a new version), so a replayed entry is skipped, never a
second row, and an id another appliance owns is refused. `document_pages`
records which page ids the PDF holds, in its page order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, insert, select

from juanzong.central import db
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import canonical_json


def store_entries(conn: Connection, doc: dict[str, Any], received_at: str) -> int:
    """The manifest's documents and notices; a replayed entry is never a second row. Returns new rows."""
    new = 0
    for entry in doc.get("documents", []):
        new += _insert_once(conn, db.documents, "document_id", _document_row(entry, doc), doc)
        if not conn.execute(select(db.document_pages.c.position).where(db.document_pages.c.document_id == entry["document_id"])).first():
            conn.execute(insert(db.document_pages), [{"document_id": entry["document_id"], "position": n, "page_id": pid}
                                                     for n, pid in enumerate(entry["page_ids"], start=1)])
    for entry in doc.get("notices", []):
        new += _insert_once(conn, db.notices, "notice_id", _notice_row(entry, received_at), doc)
    return new


def _insert_once(conn: Connection, table: Table, key: str, row: dict[str, Any], doc: dict[str, Any]) -> int:
    have = conn.execute(select(table.c.appliance_id).where(table.c[key] == row[key])).first()
    if have is not None:
        if have.appliance_id != doc["appliance_id"]:
            raise AppError(ErrorCode.MANIFEST_RECORD_FOREIGN, record_id=row[key], owner=have.appliance_id)
        return 0  # a document or notice never changes: a new version has a new id
    conn.execute(insert(table).values({**row, "appliance_id": doc["appliance_id"], "batch_id": doc["batch_id"], "batch_seq": doc["seq"]}))
    return 1


def _record(obj: dict[str, Any]) -> str:
    return canonical_json(obj).decode("utf-8")


def _document_row(entry: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    blob = entry["blob"]
    return {"document_id": entry["document_id"], "item_id": entry["item_id"], "version": entry["version"],
            "searchable": bool(entry["searchable"]), "page_count": len(entry["page_ids"]), "file_name": entry["file_name"],
            "blob_sha256": blob["sha256"], "blob_size": blob["size"], "blob_kind": blob["kind"],
            "sealed_key": blob["sealed_key"], "record": _record(entry)}


def _notice_row(entry: dict[str, Any], received_at: str) -> dict[str, Any]:
    return {"notice_id": entry["notice_id"], "item_id": entry["item_id"], "document_id": entry["document_id"],
            "case_number": entry["case_number"], "created_at": entry["created_at"], "received_at": received_at,
            "record": _record(entry)}
