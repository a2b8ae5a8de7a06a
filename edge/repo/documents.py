"""SQL for documents (m007_documents): which items need a (re)build, the OCR queue, filing notices.

Every query the document stages (edge/documents/) make lives here. Writes run
inside the callers' `write_tx`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from juanzong.edge.ingest.context import PageRole
from juanzong.shared import clock


def utc_iso(moment: datetime | None = None) -> str:
    return (moment or clock.now()).astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class PageRow:
    page_id: str
    page_no: int
    side: str
    rotation: int
    dpi: int | None
    blob_id: str
    blob_kind: str
    wrapped_local: bytes


@dataclass(frozen=True)
class ItemRow:
    item_id: str
    intake_id: str
    seq: int
    name: str
    volume: str
    catalog_dir: str
    case_number: str
    case: dict
    received_at: str
    deadline: str
    urgent: bool
    closed: bool


@dataclass(frozen=True)
class DocumentRow:
    document_id: str
    item_id: str
    version: int
    searchable: bool
    blob_id: str
    signature: str
    page_ids: tuple[str, ...]
    file_name: str
    place: dict


@dataclass(frozen=True)
class Job:
    document_id: str
    item_id: str
    deadline_utc: str
    urgent: bool
    attempts: int


# --- what needs building ------------------------------------------------------------------------


def dirty_items(db: Database) -> list[tuple[str, int]]:
    return [(r[0], r[1]) for r in db.execute("SELECT item_id, gen FROM document_dirty ORDER BY since").fetchall()]


def mark_dirty(db: Database, item_id: str) -> None:
    db.execute(
        "INSERT INTO document_dirty(item_id, since) VALUES (?, ?) ON CONFLICT(item_id) DO UPDATE SET gen = gen + 1", [item_id, utc_iso()]
    )


def clear_dirty(db: Database, item_id: str, gen: int) -> None:
    """Only if nothing changed since `gen` was read (a page may have arrived during the build)."""
    db.execute("DELETE FROM document_dirty WHERE item_id = ? AND gen = ?", [item_id, gen])


_COMPLETE_SQL = """
SELECT i.closed_at IS NOT NULL AS closed,
       EXISTS (SELECT 1 FROM pages c WHERE c.role = :cover AND c.item_id != i.id
               AND c.rowid > (SELECT MAX(p.rowid) FROM pages p WHERE p.item_id = i.id)) AS next_cover,
       (SELECT MAX(scanned_at) FROM pages p WHERE p.item_id = i.id AND p.role = :page) AS last_scan,
       (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = :page AND p.page_no IS NOT NULL) AS pages
FROM items i WHERE i.id = :item"""


def completion(db: Database, item_id: str) -> tuple[bool, bool, str | None, int]:
    """(closed, next item's cover sheet scanned after its last page, last page's time, numbered pages)."""
    row = db.execute(_COMPLETE_SQL, {"item": item_id, "page": PageRole.PAGE, "cover": PageRole.COVER}).fetchone()
    return (bool(row[0]), bool(row[1]), row[2], row[3]) if row else (False, False, None, 0)


def item_row(db: Database, item_id: str) -> ItemRow | None:
    sql = """SELECT i.id, i.intake_id, i.seq, i.name, i.volume, i.catalog_dir, t.case_number, t.case_json,
                    t.received_at, t.deadline, t.urgent, i.closed_at IS NOT NULL
             FROM items i JOIN intakes t ON t.id = i.intake_id WHERE i.id = ?"""
    r = db.execute(sql, [item_id]).fetchone()
    if r is None:
        return None
    return ItemRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], r[9], bool(r[10]), bool(r[11]))


def order_in_directory(db: Database, item: ItemRow) -> int:
    """Position among the case's items filed in the same volume and directory (intake order, then item order)."""
    sql = """SELECT COUNT(*) FROM items i JOIN intakes t ON t.id = i.intake_id
             WHERE t.case_number = ? AND i.volume = ? AND i.catalog_dir = ?
               AND (t.received_at < ? OR (t.received_at = ? AND (i.intake_id < ? OR (i.intake_id = ? AND i.seq <= ?))))"""
    args = [item.case_number, item.volume, item.catalog_dir, item.received_at, item.received_at, item.intake_id, item.intake_id, item.seq]
    return db.execute(sql, args).fetchone()[0]


def item_pages(db: Database, item_id: str) -> list[PageRow]:
    sql = """SELECT p.id, p.page_no, p.side, p.rotation, p.dpi, p.blob_id, b.kind, b.wrapped_local
             FROM pages p JOIN blobs b ON b.id = p.blob_id
             WHERE p.item_id = ? AND p.role = ? AND p.page_no IS NOT NULL ORDER BY p.page_no"""
    return [PageRow(*r) for r in db.execute(sql, [item_id, PageRole.PAGE]).fetchall()]


def blob_key(db: Database, blob_id: str) -> tuple[str, bytes]:
    row = db.execute("SELECT kind, wrapped_local FROM blobs WHERE id = ?", [blob_id]).fetchone()
    return row[0], row[1]


# --- documents ----------------------------------------------------------------------------------


_DOC_COLS = "id, item_id, version, searchable, blob_id, signature, page_ids, file_name, place"


def _document(r) -> DocumentRow:
    return DocumentRow(r[0], r[1], r[2], bool(r[3]), r[4], r[5], tuple(json.loads(r[6])), r[7], json.loads(r[8]))


def current_document(db: Database, item_id: str) -> DocumentRow | None:
    sql = f"SELECT {_DOC_COLS} FROM documents WHERE item_id = ? AND superseded_by IS NULL ORDER BY version DESC, searchable DESC LIMIT 1"
    r = db.execute(sql, [item_id]).fetchone()
    return _document(r) if r else None


def document(db: Database, document_id: str) -> DocumentRow | None:
    r = db.execute(f"SELECT {_DOC_COLS} FROM documents WHERE id = ?", [document_id]).fetchone()
    return _document(r) if r else None


def next_version(db: Database, item_id: str) -> int:
    return db.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM documents WHERE item_id = ?", [item_id]).fetchone()[0]


def insert_document(db: Database, doc: DocumentRow, page_count: int, over_content: tuple[int, ...], now: str) -> None:
    """The new current document of its item: every earlier one of the item is superseded by it."""
    db.execute("UPDATE documents SET superseded_by = ? WHERE item_id = ? AND superseded_by IS NULL", [doc.document_id, doc.item_id])
    db.execute(
        """INSERT INTO documents(id, item_id, version, searchable, blob_id, signature, page_ids, page_count, file_name,
               place, over_content, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
        [
            doc.document_id,
            doc.item_id,
            doc.version,
            int(doc.searchable),
            doc.blob_id,
            doc.signature,
            json.dumps(list(doc.page_ids)),
            page_count,
            doc.file_name,
            json.dumps(doc.place, ensure_ascii=False),
            json.dumps(list(over_content)),
            now,
        ],
    )


# --- the OCR queue: earliest deadline first, urgent before all ------------------------------------


def enqueue(db: Database, document_id: str, item: ItemRow, now: str) -> None:
    db.execute("DELETE FROM ocr_queue WHERE item_id = ?", [item.item_id])  # an older version's job is moot
    deadline = utc_iso(datetime.fromisoformat(item.deadline))
    db.execute(
        "INSERT INTO ocr_queue(document_id, item_id, deadline_utc, urgent, queued_at) VALUES (?,?,?,?,?)",
        [document_id, item.item_id, deadline, int(item.urgent), now],
    )


def next_job(db: Database, now: str) -> Job | None:
    sql = """SELECT document_id, item_id, deadline_utc, urgent, attempts FROM ocr_queue
             WHERE not_before IS NULL OR not_before <= ? ORDER BY urgent DESC, deadline_utc, queued_at LIMIT 1"""
    r = db.execute(sql, [now]).fetchone()
    return Job(r[0], r[1], r[2], bool(r[3]), r[4]) if r else None


def job_failed(db: Database, document_id: str, error: str, retry_at: str) -> None:
    db.execute(
        "UPDATE ocr_queue SET attempts = attempts + 1, last_error = ?, not_before = ? WHERE document_id = ?", [error, retry_at, document_id]
    )


def job_attempts(db: Database, document_id: str) -> int:
    row = db.execute("SELECT attempts FROM ocr_queue WHERE document_id = ?", [document_id]).fetchone()
    return row[0] if row else 0


def dequeue(db: Database, document_id: str) -> None:
    db.execute("DELETE FROM ocr_queue WHERE document_id = ?", [document_id])


def queue_summary(db: Database) -> dict:
    row = db.execute("SELECT COUNT(*), MIN(deadline_utc), SUM(urgent) FROM ocr_queue").fetchone()
    return {"length": row[0], "oldest_deadline": row[1], "urgent": row[2] or 0}


# --- filing notices -----------------------------------------------------------------------------


def notices_due(db: Database) -> list[tuple[str, str]]:
    """(item, document) of every current searchable document of a closed item without a notice."""
    sql = """SELECT d.item_id, d.id FROM documents d JOIN items i ON i.id = d.item_id
             WHERE d.searchable = 1 AND d.superseded_by IS NULL AND i.closed_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.document_id = d.id)"""
    return [(r[0], r[1]) for r in db.execute(sql).fetchall()]


def has_notice(db: Database, item_id: str) -> bool:
    return db.execute("SELECT 1 FROM notices WHERE item_id = ? LIMIT 1", [item_id]).fetchone() is not None


def insert_notice(db: Database, notice: dict) -> None:
    db.execute(
        """INSERT INTO notices(id, item_id, document_id, kind, case_number, item_name, place, pages, created_at)
                  VALUES (:notice_id, :item_id, :document_id, :kind, :case_number, :item_name, :place, :pages, :created_at)""",
        {**notice, "place": json.dumps(notice["place"], ensure_ascii=False)},
    )


def summary(db: Database) -> dict:
    q = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "current": q("SELECT COUNT(*) FROM documents WHERE superseded_by IS NULL"),
        "searchable": q("SELECT COUNT(*) FROM documents WHERE superseded_by IS NULL AND searchable = 1"),
        "waiting_for_completion": q("SELECT COUNT(*) FROM document_dirty"),
        "notices": q("SELECT COUNT(*) FROM notices"),
    }
