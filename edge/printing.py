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
from juanzong.edge.repo import intakes, items, print_jobs, write_tx
from juanzong.edge.devices.printer import Receipt, ReceiptLine, render_receipt, send
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.profiles import get_printer


def queue_receipt(db: Database, settings: EdgeSettings, intake_id: str) -> str:
    job_id = new_id(Kind.PRINT_JOB)
    with write_tx(db):
        print_jobs.insert(db, job_id, intake_id, settings.printer_profile, _now())
    return job_id


def flush(db: Database, settings: EdgeSettings) -> list[dict]:
    return [_print_one(db, settings, job_id, intake_id, printer) for job_id, intake_id, printer in print_jobs.queued(db)]


def _print_one(db: Database, settings: EdgeSettings, job_id: str, intake_id: str, printer_name: str) -> dict:
    printer = get_printer(printer_name)
    try:
        send(render_receipt(receipt_for(db, settings, intake_id), printer), printer, settings.home)
    except AppError as err:
        if err.code is not ErrorCode.PRINTER_OFFLINE:
            raise
        with write_tx(db):
            print_jobs.mark_failed(db, job_id, err.message)
        return {"job_id": job_id, "printed": False, "error": str(err.code), "message": err.message}
    with write_tx(db):
        print_jobs.mark_printed(db, job_id, _now())
        audit.record(db, place=settings.appliance_id, actor="clerk", action="print", target=intake_id, job=job_id, printer=printer_name)
    return {"job_id": job_id, "printed": True}


def receipt_for(db: Database, settings: EdgeSettings, intake_id: str) -> Receipt:
    row = intakes.get(db, intake_id)
    if row is None:
        raise AppError(ErrorCode.INTAKE_NOT_FOUND, intake_id=intake_id)
    return Receipt(
        intake_id=intake_id, case_number=row.case_number, submitter=row.submitter,
        received_at=datetime.fromisoformat(row.received_at), deadline=datetime.fromisoformat(row.deadline),
        items=tuple(ReceiptLine(name=n, pages=p, original=o) for n, p, o in items.of_intake(db, intake_id)),
        court=settings.court, clerk=row.clerk, urgent=row.urgent, deadline_provisional=row.deadline_provisional,
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
