"""Receipt print jobs: queued in the database, printed when the printer answers.

A job is created in the intake's own transaction's wake (after the commit, so
a receipt never promises something not stored); `flush` renders from the
stored intake and sends it. A printer that is off keeps the job queued with
its error; the next flush (the run loop calls it) prints it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.config import EdgeSettings
from juanzong.edge.db import write_tx
from juanzong.edge.devices.printer import Receipt, ReceiptLine, render_receipt, send
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.profiles import get_printer


def queue_receipt(db: Database, settings: EdgeSettings, intake_id: str) -> str:
    job_id = new_id(Kind.PRINT_JOB)
    with write_tx(db):
        db.execute("INSERT INTO print_jobs(id, intake_id, printer, state, created_at) VALUES (?,?,?,?,?)",
                   [job_id, intake_id, settings.printer_profile, "queued", _now()])
    return job_id


def flush(db: Database, settings: EdgeSettings) -> list[dict]:
    jobs = db.execute("SELECT id, intake_id, printer FROM print_jobs WHERE state = 'queued' ORDER BY created_at").fetchall()
    return [_print_one(db, settings, job_id, intake_id, printer) for job_id, intake_id, printer in jobs]


def _print_one(db: Database, settings: EdgeSettings, job_id: str, intake_id: str, printer_name: str) -> dict:
    printer = get_printer(printer_name)
    try:
        send(render_receipt(receipt_for(db, settings, intake_id), printer), printer, settings.home)
    except AppError as err:
        if err.code is not ErrorCode.PRINTER_OFFLINE:
            raise
        with write_tx(db):
            db.execute("UPDATE print_jobs SET attempts = attempts + 1, last_error = ? WHERE id = ?", [err.message, job_id])
        return {"job_id": job_id, "printed": False, "error": str(err.code), "message": err.message}
    with write_tx(db):
        db.execute("UPDATE print_jobs SET state = 'printed', attempts = attempts + 1, printed_at = ?, last_error = NULL WHERE id = ?", [_now(), job_id])
        audit.record(db, place=settings.appliance_id, actor="clerk", action="print", target=intake_id, job=job_id, printer=printer_name)
    return {"job_id": job_id, "printed": True}


def receipt_for(db: Database, settings: EdgeSettings, intake_id: str) -> Receipt:
    row = db.execute("SELECT case_number, submitter, received_at, deadline, urgent, clerk, deadline_provisional FROM intakes WHERE id = ?",
                     [intake_id]).fetchone()
    if row is None:
        raise AppError(ErrorCode.INTAKE_NOT_FOUND, intake_id=intake_id)
    items = db.execute("SELECT name, declared_pages, original FROM items WHERE intake_id = ? ORDER BY seq", [intake_id]).fetchall()
    return Receipt(
        intake_id=intake_id, case_number=row[0], submitter=row[1],
        received_at=datetime.fromisoformat(row[2]), deadline=datetime.fromisoformat(row[3]),
        items=tuple(ReceiptLine(name=n, pages=p, original=bool(o)) for n, p, o in items),
        court=settings.court, clerk=row[5], urgent=bool(row[4]), deadline_provisional=bool(row[6]),
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
