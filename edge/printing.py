"""Print jobs: queued in the database with an encrypted copy, printed when the printer answers.

Every slip (receipt 回执, cover label 分隔标签, service receipt 送达回证) is queued as a
`PrintDocument` sealed by the vault (`Purpose.RECEIPT_COPY`), after the transaction that
stored what it promises (nothing is acknowledged before it is durable). `flush` renders each
queued job from its own copy and sends it; a printer that is off, out of paper or unreachable
leaves the job queued with its error and attempt count, and the next flush (the run loop calls
it, and the kiosk's 重试 button) prints it. `reprint` queues the same copy again, marked 补打.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.config import EdgeSettings
from juanzong.edge.devices.printer import PrintDocument, Receipt, ReceiptLine, TextLine, receipt_text, render_document, send
from juanzong.edge.devices.profiles import get_printer
from juanzong.edge.keys import load_kek
from juanzong.edge.repo import intakes, items, write_tx
from juanzong.edge.repo import print_jobs as repo
from juanzong.edge.repo.print_jobs import JobKind, JobState
from juanzong.edge.vault import Purpose, Vault
from juanzong.shared import clock
from juanzong.shared.audit import Action
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, make_payload, new_id

JOB_NAMES = {JobKind.RECEIPT: "收取回执", JobKind.LABEL: "材料分隔标签", JobKind.SERVICE: "送达回证"}


def vault_for(settings: EdgeSettings) -> Vault:
    return Vault(load_kek(settings.keys_dir))


# ---- the copy: a PrintDocument as JSON, sealed


def _doc_json(doc: PrintDocument) -> bytes:
    return json.dumps(
        {
            "lines": [[ln.text, ln.style] for ln in doc.lines],
            "payload": doc.payload,
            "picture": base64.b64encode(doc.picture).decode() if doc.picture else None,
        },
        ensure_ascii=False,
    ).encode("utf-8")


def _doc_from(raw: bytes, reprint: bool) -> PrintDocument:
    data = json.loads(raw)
    picture = base64.b64decode(data["picture"]) if data.get("picture") else None
    return PrintDocument(tuple(TextLine(t, s) for t, s in data["lines"]), data["payload"], picture, reprint)


def open_copy(vault: Vault, job: repo.JobRow) -> PrintDocument:
    if job.copy is None:
        raise AppError(ErrorCode.PRINT_JOB_NOT_FOUND, job_id=job.id)
    return _doc_from(vault.open(Purpose.RECEIPT_COPY, job.id, job.copy), job.reprint)


# ---- queueing


def queue(
    db: Database,
    settings: EdgeSettings,
    kind: JobKind,
    intake_id: str,
    doc: PrintDocument,
    *,
    target: str | None = None,
    actor: str = "clerk",
    reprint: bool = False,
    vault: Vault | None = None,
) -> str:
    job_id = new_id(Kind.PRINT_JOB)
    sealed = (vault or vault_for(settings)).seal(Purpose.RECEIPT_COPY, job_id, _doc_json(doc))
    with write_tx(db):
        repo.insert(
            db,
            repo.JobRow(
                job_id,
                str(kind),
                intake_id,
                target,
                settings.printer_profile,
                JobState.QUEUED,
                0,
                None,
                reprint,
                sealed,
                actor,
                _now(),
                None,
            ),
        )
        audit.record(
            db,
            place=settings.appliance_id,
            actor=actor,
            action=Action.PRINT_QUEUE,
            target=target or intake_id,
            job=job_id,
            kind=str(kind),
            reprint=reprint,
        )
    return job_id


def queue_receipt(db: Database, settings: EdgeSettings, intake_id: str, actor: str = "clerk", vault: Vault | None = None) -> str:
    receipt = receipt_for(db, settings, intake_id)
    doc = PrintDocument(receipt_text(receipt), make_payload(intake_id))
    return queue(db, settings, JobKind.RECEIPT, intake_id, doc, target=intake_id, actor=actor, vault=vault)


def reprint(db: Database, settings: EdgeSettings, job_id: str, actor: str, vault: Vault | None = None) -> str:
    """The kept copy of a job, queued again and marked 补打."""
    vault = vault or vault_for(settings)
    job = repo.get(db, job_id)
    if job is None:
        raise AppError(ErrorCode.PRINT_JOB_NOT_FOUND, job_id=job_id)
    doc = open_copy(vault, job)
    return queue(db, settings, JobKind(job.kind), job.intake_id, doc, target=job.target, actor=actor, reprint=True, vault=vault)


# ---- printing


def flush(db: Database, settings: EdgeSettings, vault: Vault | None = None) -> list[dict]:
    jobs = repo.queued(db)
    if not jobs:
        return []
    vault = vault or vault_for(settings)
    return [_print_one(db, settings, vault, job) for job in jobs]


def _print_one(db: Database, settings: EdgeSettings, vault: Vault, job: repo.JobRow) -> dict:
    printer = get_printer(job.printer)
    data = render_document(_document(db, settings, vault, job), printer)
    try:
        send(data, printer, settings.home, settings.court_networks)
    except AppError as err:
        if err.code not in (ErrorCode.PRINTER_OFFLINE, ErrorCode.PRINTER_TARGET_FORBIDDEN):
            raise
        with write_tx(db):
            repo.failed_attempt(db, job.id, err.message)
        return {"job_id": job.id, "printed": False, "error": str(err.code), "message": err.message}
    with write_tx(db):
        repo.printed(db, job.id, _now())
        audit.record(
            db,
            place=settings.appliance_id,
            actor=job.actor or "clerk",
            action=Action.PRINT,
            target=job.target or job.intake_id,
            job=job.id,
            kind=job.kind,
            printer=job.printer,
            reprint=job.reprint,
        )
    return {"job_id": job.id, "printed": True}


def _document(db: Database, settings: EdgeSettings, vault: Vault, job: repo.JobRow) -> PrintDocument:
    if job.copy is not None:
        return open_copy(vault, job)
    # a job queued before copies were kept (m004_counter): rendered from the intake
    return PrintDocument(receipt_text(receipt_for(db, settings, job.intake_id)), make_payload(job.intake_id), reprint=job.reprint)


def receipt_for(db: Database, settings: EdgeSettings, intake_id: str) -> Receipt:
    head = intakes.receipt_head(db, intake_id)
    if head is None:
        raise AppError(ErrorCode.INTAKE_NOT_FOUND, intake_id=intake_id)
    return Receipt(
        intake_id=intake_id,
        case_number=head.case_number,
        submitter=head.submitter,
        received_at=datetime.fromisoformat(head.received_at),
        deadline=datetime.fromisoformat(head.deadline),
        items=tuple(ReceiptLine(name=n, pages=p, copies=c, original=o) for n, p, o, c in items.receipt_lines(db, intake_id)),
        court=settings.court,
        clerk=head.clerk,
        urgent=head.urgent,
        deadline_provisional=head.deadline_provisional,
    )


def _now() -> str:
    return clock.iso("seconds")
