"""Receiving documents and filing notices: rows written inside the batch's transaction.

A document (an item's PDF) and a notice never change once sent: a rebuilt PDF is
a new document id (a new version), so a replayed entry is skipped, never a
second row (ownership was checked before, central/receive/checks.py).
`document_pages` records which page ids the PDF holds, in its page order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, insert, select

from juanzong.central import db
from juanzong.shared.manifest import Document, Manifest, Notice, canonical_json


def store_entries(conn: Connection, doc: Manifest, received_at: str) -> int:
    """The manifest's documents and notices; returns how many rows were new."""
    new = 0
    for entry in doc.documents:
        if _insert_once(conn, db.documents, "document_id", _document_row(entry), doc):
            new += 1
            conn.execute(
                insert(db.document_pages),
                [{"document_id": entry.document_id, "position": n, "page_id": pid} for n, pid in enumerate(entry.page_ids, start=1)],
            )
    for notice in doc.notices:
        new += _insert_once(conn, db.notices, "notice_id", _notice_row(notice, received_at), doc)
    return new


def _insert_once(conn: Connection, table: Table, key: str, row: dict[str, Any], doc: Manifest) -> bool:
    if conn.execute(select(table.c[key]).where(table.c[key] == row[key])).first() is not None:
        return False
    conn.execute(insert(table).values({**row, "appliance_id": doc.appliance_id, "batch_id": doc.batch_id, "batch_seq": doc.seq}))
    return True


def _record(obj: Any) -> str:
    return canonical_json(obj).decode("utf-8")


def _document_row(entry: Document) -> dict[str, Any]:
    return {
        "document_id": entry.document_id,
        "item_id": entry.item_id,
        "version": entry.version,
        "searchable": entry.searchable,
        "page_count": len(entry.page_ids),
        "file_name": entry.file_name,
        "blob_sha256": entry.blob.sha256,
        "blob_size": entry.blob.size,
        "blob_kind": str(entry.blob.kind),
        "sealed_key": entry.blob.sealed_key,
        "record": _record(entry),
    }


def _notice_row(entry: Notice, received_at: str) -> dict[str, Any]:
    return {
        "notice_id": entry.notice_id,
        "item_id": entry.item_id,
        "document_id": entry.document_id,
        "case_number": entry.case_number,
        "created_at": entry.created_at,
        "received_at": received_at,
        "record": _record(entry),
    }
