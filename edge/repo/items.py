"""Items (材料): the materials of an intake, each with its declared pages and catalog entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from juanzong.edge.ingest.context import PageRole
from juanzong.edge.repo._rows import dicts


@dataclass(frozen=True)
class ItemRow:
    item_id: str
    intake_id: str
    seq: int
    name: str
    declared_pages: int
    volume: str
    catalog_dir: str
    original: bool
    colour: bool
    copies: int = 1
    return_original: bool = False


def insert(db: Database, row: ItemRow) -> None:
    db.execute(
        "INSERT INTO items(id, intake_id, seq, name, declared_pages, volume, catalog_dir, original, colour, copies, "
        "return_original) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            row.item_id,
            row.intake_id,
            row.seq,
            row.name,
            row.declared_pages,
            row.volume,
            row.catalog_dir,
            int(row.original),
            int(row.colour),
            row.copies,
            int(row.return_original),
        ],
    )


def routing_info(db: Database, item_id: str) -> tuple[str, bool, int, bool] | None:
    """(id, colour, declared_pages, closed) of the item, or None when there is no such item."""
    row = db.execute("SELECT id, colour, declared_pages, closed_at IS NOT NULL FROM items WHERE id = ?", [item_id]).fetchone()
    return (row[0], bool(row[1]), row[2], bool(row[3])) if row else None


def with_intake(db: Database, item_id: str) -> dict[str, Any] | None:
    """Every column of the item plus its intake's case number and submitter and the
    intake's item count (what a cover sheet shows), or None."""
    found = dicts(
        db,
        (
            "SELECT i.*, t.case_number, t.submitter, (SELECT COUNT(*) FROM items x WHERE x.intake_id = i.intake_id) "
            "AS item_count FROM items i JOIN intakes t ON t.id = i.intake_id WHERE i.id = ?"
        ),
        [item_id],
    )
    return found[0] if found else None


def receipt_lines(db: Database, intake_id: str) -> list[tuple[str, int, bool, int]]:
    """(name, declared_pages, original, copies) of each item of the intake, in order."""
    rows = db.execute("SELECT name, declared_pages, original, copies FROM items WHERE intake_id = ? ORDER BY seq", [intake_id])
    return [(n, p, bool(o), c) for n, p, o, c in rows.fetchall()]


def close(db: Database, item_id: str, closed_at: str, count_findings_json: str) -> None:
    """Closed with its 多扫/漏扫 findings; the item travels again in the next batch."""
    db.execute(
        "UPDATE items SET closed_at = ?, count_findings = ?, batch_id = NULL WHERE id = ?", [closed_at, count_findings_json, item_id]
    )


def overview(db: Database) -> list[dict[str, Any]]:
    """Every item with its case number, deadline, pages scanned and pages with QC findings."""
    rows = dicts(
        db,
        """SELECT i.id, i.intake_id, t.case_number, t.deadline, t.deadline_provisional, i.seq, i.name,
                    i.declared_pages, i.volume, i.catalog_dir,
                    (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = :page) AS pages,
                    (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = :page AND p.findings != '[]') AS flagged
             FROM items i JOIN intakes t ON t.id = i.intake_id ORDER BY t.received_at, i.seq""",
        {"page": PageRole.PAGE},
    )
    return [{**r, "deadline_provisional": bool(r["deadline_provisional"])} for r in rows]
