"""Rows of the appliance's audit chain (the chain's rules are edge.audit and shared.audit)."""

from __future__ import annotations

from sqlite_utils import Database

from juanzong.shared.audit import AuditRecord

_COLUMNS = "seq, at, actor, action, target, outcome, detail, place, prev_hash"


def last(db: Database) -> tuple[int, str] | None:
    """(seq, hash) of the newest record, or None for an empty chain."""
    row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def append(db: Database, rec: AuditRecord, detail_json: str, digest: str) -> None:
    db.execute(
        f"INSERT INTO audit({_COLUMNS}, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [rec.seq, rec.at, rec.actor, rec.action, rec.target, rec.outcome, detail_json, rec.where, rec.prev_hash, digest],
    )


def rows(db: Database) -> list[tuple]:
    """Every record in chain order, columns as in AuditRecord (detail as JSON text)."""
    return db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq").fetchall()


def rows_with_hashes(db: Database) -> list[tuple]:
    """As `rows`, each with its stored hash last."""
    return db.execute(f"SELECT {_COLUMNS}, hash FROM audit ORDER BY seq").fetchall()
