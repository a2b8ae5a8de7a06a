"""SQL for the print queue (print_jobs: m001 + m004_counter columns)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlite_utils import Database


class JobKind(StrEnum):
    RECEIPT = "receipt"
    LABEL = "label"
    SERVICE = "service"


class JobState(StrEnum):
    QUEUED = "queued"
    PRINTED = "printed"


@dataclass(frozen=True)
class JobRow:
    id: str
    kind: str
    intake_id: str
    target: str | None
    printer: str
    state: str
    attempts: int
    last_error: str | None
    reprint: bool
    copy: bytes | None
    actor: str
    created_at: str
    printed_at: str | None


_COLS = "id, kind, intake_id, target, printer, state, attempts, last_error, reprint, copy, actor, created_at, printed_at"


def _row(r: tuple[Any, ...]) -> JobRow:
    return JobRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9], r[10], r[11], r[12])


def insert(db: Database, job: JobRow) -> None:
    db.execute(
        f"INSERT INTO print_jobs({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            job.id,
            job.kind,
            job.intake_id,
            job.target,
            job.printer,
            job.state,
            job.attempts,
            job.last_error,
            int(job.reprint),
            job.copy,
            job.actor,
            job.created_at,
            job.printed_at,
        ],
    )


def get(db: Database, job_id: str) -> JobRow | None:
    row = db.execute(f"SELECT {_COLS} FROM print_jobs WHERE id = ?", [job_id]).fetchone()
    return _row(row) if row else None


def queued(db: Database) -> list[JobRow]:
    return [
        _row(r)
        for r in db.execute(f"SELECT {_COLS} FROM print_jobs WHERE state = ? ORDER BY created_at, rowid", [JobState.QUEUED]).fetchall()
    ]


def of_intake(db: Database, intake_id: str) -> list[JobRow]:
    return [
        _row(r)
        for r in db.execute(f"SELECT {_COLS} FROM print_jobs WHERE intake_id = ? ORDER BY created_at, rowid", [intake_id]).fetchall()
    ]


def recent(db: Database, limit: int = 20) -> list[JobRow]:
    return [_row(r) for r in db.execute(f"SELECT {_COLS} FROM print_jobs ORDER BY created_at DESC, rowid DESC LIMIT ?", [limit]).fetchall()]


def failed_attempt(db: Database, job_id: str, error: str) -> None:
    db.execute("UPDATE print_jobs SET attempts = attempts + 1, last_error = ? WHERE id = ?", [error, job_id])


def printed(db: Database, job_id: str, at: str) -> None:
    db.execute(
        "UPDATE print_jobs SET state = ?, attempts = attempts + 1, printed_at = ?, last_error = NULL WHERE id = ?",
        [JobState.PRINTED, at, job_id],
    )


def state_counts(db: Database) -> dict[str, int]:
    return {state: n for state, n in db.execute("SELECT state, COUNT(*) FROM print_jobs GROUP BY state").fetchall()}


def printed_copies_before(db: Database, before: str) -> list[str]:
    """Ids of printed jobs still holding their encrypted copy, printed at or before `before`."""
    rows = db.execute(
        "SELECT id FROM print_jobs WHERE copy IS NOT NULL AND state = ? AND printed_at <= ?", [JobState.PRINTED, before]
    ).fetchall()
    return [r[0] for r in rows]


def drop_copies(db: Database, job_ids: list[str]) -> None:
    db.execute(f"UPDATE print_jobs SET copy = NULL WHERE id IN ({','.join('?' * len(job_ids))})", job_ids)
