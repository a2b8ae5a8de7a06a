"""SQL for kiosk operators and their sessions (tables from edge.db m003_operators)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database


@dataclass(frozen=True)
class OperatorRow:
    id: str
    name: str
    role: str
    pin_hash: str
    disabled_at: str | None
    failures: int
    locked_until: str | None
    created_at: str


_COLS = "id, name, role, pin_hash, disabled_at, failures, locked_until, created_at"


def get(db: Database, operator_id: str) -> OperatorRow | None:
    row = db.execute(f"SELECT {_COLS} FROM operators WHERE id = ?", [operator_id]).fetchone()
    return OperatorRow(*row) if row else None


def all_rows(db: Database) -> list[OperatorRow]:
    return [OperatorRow(*r) for r in db.execute(f"SELECT {_COLS} FROM operators ORDER BY id").fetchall()]


def insert(db: Database, row: OperatorRow) -> None:
    db.execute(
        f"INSERT INTO operators({_COLS}) VALUES (?,?,?,?,?,?,?,?)",
        [row.id, row.name, row.role, row.pin_hash, row.disabled_at, row.failures, row.locked_until, row.created_at],
    )


def set_disabled(db: Database, operator_id: str, at: str) -> None:
    db.execute("UPDATE operators SET disabled_at = ? WHERE id = ?", [at, operator_id])


def set_pin_hash(db: Database, operator_id: str, pin_hash: str) -> None:
    db.execute("UPDATE operators SET pin_hash = ? WHERE id = ?", [pin_hash, operator_id])


def set_failures(db: Database, operator_id: str, failures: int, locked_until: str | None) -> None:
    db.execute("UPDATE operators SET failures = ?, locked_until = ? WHERE id = ?", [failures, locked_until, operator_id])


# ---- sessions: the cookie carries only a random session id; the row is the truth


def open_session(db: Database, session_id: str, operator_id: str, at: str) -> None:
    db.execute("INSERT INTO kiosk_sessions(id, operator_id, started_at, last_seen) VALUES (?,?,?,?)", [session_id, operator_id, at, at])


def session(db: Database, session_id: str) -> tuple[str, str, str | None] | None:
    """(operator_id, last_seen, ended_at) of a session."""
    return db.execute("SELECT operator_id, last_seen, ended_at FROM kiosk_sessions WHERE id = ?", [session_id]).fetchone()


def touch_session(db: Database, session_id: str, at: str) -> None:
    db.execute("UPDATE kiosk_sessions SET last_seen = ? WHERE id = ?", [at, session_id])


def end_session(db: Database, session_id: str, at: str, reason: str) -> None:
    db.execute("UPDATE kiosk_sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL", [at, reason, session_id])


def end_sessions_of(db: Database, operator_id: str, at: str, reason: str) -> None:
    db.execute(
        "UPDATE kiosk_sessions SET ended_at = ?, end_reason = ? WHERE operator_id = ? AND ended_at IS NULL", [at, reason, operator_id]
    )
