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


def insert(db: Database, row: IntakeRow, created_at: str) -> None:
    db.execute(
        "INSERT INTO intakes(id, case_number, case_json, submitter, received_at, deadline, urgent, clerk, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?)",
        [row.intake_id, row.case_number, row.case_json, row.submitter, row.received_at, row.deadline,
         int(row.urgent), row.clerk, created_at],
    )


def get(db: Database, intake_id: str) -> IntakeRow | None:
    row = db.execute(
        "SELECT id, case_number, case_json, submitter, received_at, deadline, urgent, clerk FROM intakes WHERE id = ?",
        [intake_id],
    ).fetchone()
    return IntakeRow(*row[:6], bool(row[6]), row[7]) if row else None
