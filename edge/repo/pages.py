"""Pages: one row per stored page image (cover sheets, dropped blanks and replaced pages included).

`claim` is the spool file name plus the image's index in it: unique, so a replay
after a crash can never store the same scan twice. Page numbers are allocated by
`next_page_no` inside the caller's write transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils import Database

from juanzong.edge.ingest.context import PageRole, QcCode, Side

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
        [
            page.page_id,
            page.claim_key,
            page.item_id,
            page_no,
            page.side,
            page.role,
            page.claimed.source_name,
            page.source_sha256,
            page.source_size,
            page.sealed.blob_id,
            page.width,
            page.height,
            page.dpi,
            page.mode,
            findings_json,
            page.qc.phash if page.qc else None,
            now,
            page.replaces,
        ],
    )


def next_page_no(db: Database, item_id: str) -> int:
    """max+1 for the item: call inside the write transaction that inserts the page."""
    return int(db.execute("SELECT COALESCE(MAX(page_no), 0) FROM pages WHERE item_id = ?", [item_id]).fetchone()[0]) + 1


def give_up_number(db: Database, page_id: str, replaced_by: str) -> int | None:
    """The replaced page keeps its row (role `replaced`, numberless) and travels again;
    returns the number it held (None for an image that had none: a dropped blank back)."""
    number = db.execute("SELECT page_no FROM pages WHERE id = ?", [page_id]).fetchone()[0]
    db.execute(
        "UPDATE pages SET page_no = NULL, role = ?, replaced_by = ?, batch_id = NULL WHERE id = ?",
        [PageRole.REPLACED, replaced_by, page_id],
    )
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
    sql = "SELECT id, phash FROM pages WHERE item_id = ? AND role = ? AND phash IS NOT NULL AND findings NOT LIKE ?"
    return dict(db.execute(sql, [item_id, PageRole.PAGE, f'%"{QcCode.BLANK}"%']).fetchall())


def scanned_count(db: Database, item_id: str) -> int:
    """Pages that count against the declared pages: a blank back side from duplex
    scanning is kept (or dropped) per the profile but never counts (issue 8)."""
    sql = "SELECT COUNT(*) FROM pages WHERE item_id = ? AND role = ? AND NOT (side = ? AND findings LIKE ?)"
    return int(db.execute(sql, [item_id, PageRole.PAGE, Side.VERSO, f'%"{QcCode.BLANK}"%']).fetchone()[0])


def blank_backs(db: Database, item_id: str) -> int:
    """Blank back sides of the item (kept as pages or dropped): recorded, not counted."""
    sql = "SELECT COUNT(*) FROM pages WHERE item_id = ? AND side = ? AND (role = ? OR (role = ? AND findings LIKE ?))"
    return int(db.execute(sql, [item_id, Side.VERSO, PageRole.BLANK_DROPPED, PageRole.PAGE, f'%"{QcCode.BLANK}"%']).fetchone()[0])


def sheet_partner(db: Database, page_id: str) -> str | None:
    """The other side of a duplex sheet: for a recto, the next image of its item (a verso);
    for a verso, the image before it (a recto). None when there is no such image."""
    row = db.execute("SELECT rowid, item_id, side FROM pages WHERE id = ?", [page_id]).fetchone()
    if row is None or row[1] is None:
        return None
    rowid, item_id, side = row
    if side == Side.RECTO:
        sql = "SELECT id, side FROM pages WHERE item_id = ? AND rowid > ? AND replaces IS NULL ORDER BY rowid LIMIT 1"
    else:
        sql = "SELECT id, side FROM pages WHERE item_id = ? AND rowid < ? AND replaces IS NULL ORDER BY rowid DESC LIMIT 1"
    found = db.execute(sql, [item_id, rowid]).fetchone()
    want = Side.VERSO if side == Side.RECTO else Side.RECTO
    return found[0] if found and found[1] == want else None


def replaceable(db: Database, page_id: str) -> tuple[str, str, int | None] | None:
    """(item_id, side, page_no) of an image a rescan may take over: a page, or a dropped blank back."""
    sql = "SELECT item_id, side, page_no FROM pages WHERE id = ? AND role IN (?, ?)"
    row = db.execute(sql, [page_id, PageRole.PAGE, PageRole.BLANK_DROPPED]).fetchone()
    return (row[0], row[1], row[2]) if row else None


_LISTED = "id, page_no, side, role, source_name, findings, accepted, replaces, discard_reason"


def of_item(db: Database, item_id: str | None) -> list[dict]:
    """Every image recorded for the item, in scan order (`edge pages`); None: the
    unassigned queue (pages waiting for an item)."""
    if item_id is None:
        cur = db.execute(f"SELECT {_LISTED} FROM pages WHERE item_id IS NULL AND role = ? ORDER BY rowid", [PageRole.PAGE])
    else:
        cur = db.execute(f"SELECT {_LISTED} FROM pages WHERE item_id = ? ORDER BY rowid", [item_id])
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def unassigned_count(db: Database) -> int:
    sql = "SELECT COUNT(*) FROM pages WHERE role = ? AND item_id IS NULL"
    return int(db.execute(sql, [PageRole.PAGE]).fetchone()[0])


def with_blobs(db: Database) -> list[tuple[str, str, str, str, str, bytes]]:
    """(source_name, source_sha256, role, blob id, blob kind, sealed_central) of every page."""
    return db.execute(
        "SELECT p.source_name, p.source_sha256, p.role, b.id, b.kind, b.sealed_central FROM pages p JOIN blobs b ON b.id = p.blob_id"
    ).fetchall()


def brief(db: Database, page_ids: list[str]) -> list[dict]:
    """(id, item_id, page_no, role, replaces, findings) of these pages, in the order given."""
    if not page_ids:
        return []
    marks = ",".join("?" * len(page_ids))
    cur = db.execute(f"SELECT id, item_id, page_no, role, replaces, findings FROM pages WHERE id IN ({marks})", page_ids)
    cols = [c[0] for c in cur.description]
    found = {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}
    return [found[p] for p in page_ids if p in found]
