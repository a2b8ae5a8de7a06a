"""Pages: one row per stored page image (cover sheets, dropped blanks and replaced pages included).

`claim` is the spool file name plus the image's index in it: unique, so a replay
after a crash can never store the same scan twice. Page numbers are allocated by
`next_page_no` inside the caller's write transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils import Database

from juanzong.edge.ingest.context import PageRole, QcCode

if TYPE_CHECKING:
    from juanzong.edge.ingest.context import Page


def already_recorded(db: Database, claim: str) -> bool:
    """Some image of this spool file is stored already."""
    return db.execute("SELECT 1 FROM pages WHERE claim LIKE ? LIMIT 1", [claim + "#%"]).fetchone() is not None


def insert(db: Database, page: Page, page_no: int | None, findings_json: str, now: str) -> None:
    assert page.sealed is not None, "a page is recorded only once encrypted"
    db.execute(
        """INSERT INTO pages(id, claim, item_id, page_no, side, role, source_name, source_sha256, source_size,
               blob_id, width, height, dpi, mode, findings, phash, scanned_at, replaces)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        [page.page_id, page.claim_key, page.item_id, page_no, page.side, page.role, page.claimed.source_name,
         page.source_sha256, page.source_size, page.sealed.blob_id, page.width, page.height, page.dpi, page.mode,
         findings_json, page.qc.phash if page.qc else None, now, page.replaces],
    )


def next_page_no(db: Database, item_id: str) -> int:
    """max+1 for the item: call inside the write transaction that inserts the page."""
    return int(db.execute("SELECT COALESCE(MAX(page_no), 0) FROM pages WHERE item_id = ?", [item_id]).fetchone()[0]) + 1


def give_up_number(db: Database, page_id: str, replaced_by: str) -> int:
    """The replaced page keeps its row (role `replaced`, numberless) and travels again;
    returns the number it held."""
    number = int(db.execute("SELECT page_no FROM pages WHERE id = ?", [page_id]).fetchone()[0])
    db.execute("UPDATE pages SET page_no = NULL, role = ?, replaced_by = ?, batch_id = NULL WHERE id = ?",
               [PageRole.REPLACED, replaced_by, page_id])
    return number


def images_since_cover(db: Database, item_id: str) -> tuple[int, bool]:
    """Images of the item since its latest cover sheet (the cover included, replacement
    rescans not), and whether there is a cover sheet at all."""
    sql = "SELECT MAX(rowid) FROM pages WHERE item_id = ? AND role = ?"
    cover = db.execute(sql, [item_id, PageRole.COVER]).fetchone()[0]
    sql = "SELECT COUNT(*) FROM pages WHERE item_id = ? AND rowid >= ? AND replaces IS NULL"
    return int(db.execute(sql, [item_id, cover or 0]).fetchone()[0]), cover is not None


def item_page(db: Database, page_id: str) -> tuple[str, str, int | None] | None:
    """(item_id, side, page_no) of a page of role `page` (page_no None while unassigned), or None."""
    sql = "SELECT item_id, side, page_no FROM pages WHERE id = ? AND role = ?"
    row = db.execute(sql, [page_id, PageRole.PAGE]).fetchone()
    return (row[0], row[1], row[2]) if row else None


def phashes(db: Database, item_id: str) -> dict[str, str]:
    """Perceptual hashes of the item's pages that are not blank (for the duplicate check)."""
    sql = ("SELECT id, phash FROM pages WHERE item_id = ? AND role = ? AND phash IS NOT NULL "
           "AND findings NOT LIKE ?")
    return dict(db.execute(sql, [item_id, PageRole.PAGE, f'%"{QcCode.BLANK}"%']).fetchall())


def scanned_count(db: Database, item_id: str) -> int:
    sql = "SELECT COUNT(*) FROM pages WHERE item_id = ? AND role = ?"
    return int(db.execute(sql, [item_id, PageRole.PAGE]).fetchone()[0])


def unassigned_count(db: Database) -> int:
    sql = "SELECT COUNT(*) FROM pages WHERE role = ? AND item_id IS NULL"
    return int(db.execute(sql, [PageRole.PAGE]).fetchone()[0])


def with_blobs(db: Database) -> list[tuple[str, str, str, str, str, bytes]]:
    """(source_name, source_sha256, role, blob id, blob kind, sealed_central) of every page."""
    return db.execute("SELECT p.source_name, p.source_sha256, p.role, b.id, b.kind, b.sealed_central "
                      "FROM pages p JOIN blobs b ON b.id = p.blob_id").fetchall()
