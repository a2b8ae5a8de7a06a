"""Receipt print jobs: `queued` until the printer takes them, then `printed`."""

from __future__ import annotations

from sqlite_utils import Database


def insert(db: Database, job_id: str, intake_id: str, printer: str, now: str) -> None:
    db.execute("INSERT INTO print_jobs(id, intake_id, printer, state, created_at) VALUES (?,?,?,?,?)",
               [job_id, intake_id, printer, "queued", now])


def queued(db: Database) -> list[tuple[str, str, str]]:
    """(job id, intake id, printer profile) of every queued job, oldest first."""
    return db.execute("SELECT id, intake_id, printer FROM print_jobs WHERE state = 'queued' ORDER BY created_at").fetchall()


def mark_failed(db: Database, job_id: str, error: str) -> None:
    db.execute("UPDATE print_jobs SET attempts = attempts + 1, last_error = ? WHERE id = ?", [error, job_id])


def mark_printed(db: Database, job_id: str, now: str) -> None:
    db.execute("UPDATE print_jobs SET state = 'printed', attempts = attempts + 1, printed_at = ?, last_error = NULL "
               "WHERE id = ?", [now, job_id])


def counts_by_state(db: Database) -> dict[str, int]:
    return {state: n for state, n in db.execute("SELECT state, COUNT(*) FROM print_jobs GROUP BY state").fetchall()}
