"""Intakes (收取): one row per handover at the counter."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database


@dataclass(frozen=True)
class IntakeRow:
    intake_id: str
    case_number: str
    case_json: str
    submitter: str
    received_at: str
    deadline: str
    urgent: bool
    clerk: str
    deadline_provisional: bool = False  # computed from a year without the State Council arrangement
    deadline_source: str = ""
    late_entry: bool = False  # 补登


_COLUMNS = "id, case_number, case_json, submitter, received_at, deadline, urgent, clerk, deadline_provisional, deadline_source, late_entry"


def insert(db: Database, row: IntakeRow, created_at: str) -> None:
    db.execute(
        f"INSERT INTO intakes({_COLUMNS}, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            row.intake_id,
            row.case_number,
            row.case_json,
            row.submitter,
            row.received_at,
            row.deadline,
            int(row.urgent),
            row.clerk,
            int(row.deadline_provisional),
            row.deadline_source,
            int(row.late_entry),
            created_at,
        ],
    )


def get(db: Database, intake_id: str) -> IntakeRow | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM intakes WHERE id = ?", [intake_id]).fetchone()
    if row is None:
        return None
    return IntakeRow(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], bool(row[8]), row[9], bool(row[10]))


@dataclass(frozen=True)
class ReceiptHead:
    case_number: str
    submitter: str
    received_at: str
    deadline: str
    urgent: bool
    clerk: str  # the operator's name when the clerk is a kiosk operator, else as typed
    deadline_provisional: bool


def receipt_head(db: Database, intake_id: str) -> ReceiptHead | None:
    row = db.execute(
        "SELECT t.case_number, t.submitter, t.received_at, t.deadline, t.urgent, COALESCE(o.name, t.clerk),"
        " t.deadline_provisional FROM intakes t LEFT JOIN operators o ON o.id = t.clerk WHERE t.id = ?",
        [intake_id],
    ).fetchone()
    return ReceiptHead(row[0], row[1], row[2], row[3], bool(row[4]), row[5], bool(row[6])) if row else None


def provisional_count(db: Database) -> int:
    """Intakes whose deadline was computed from a year without the State Council arrangement."""
    return int(db.execute("SELECT COUNT(*) FROM intakes WHERE deadline_provisional = 1").fetchone()[0])


def provisional_not_urgent(db: Database) -> list[tuple[str, str, str, str]]:
    """(id, case_number, received_at, deadline) of provisional, non-urgent intakes, oldest first."""
    return db.execute(
        "SELECT id, case_number, received_at, deadline FROM intakes WHERE deadline_provisional = 1 AND urgent = 0 ORDER BY received_at, id"
    ).fetchall()


def set_deadline(db: Database, intake_id: str, deadline: str, provisional: bool, source: str) -> None:
    """A recomputed deadline; the intake travels to central again with the next batch."""
    db.execute(
        "UPDATE intakes SET deadline = ?, deadline_provisional = ?, deadline_source = ?, batch_id = NULL WHERE id = ?",
        [deadline, int(provisional), source, intake_id],
    )
