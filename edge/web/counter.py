"""收取登记: the handover form, the saved intake with its deadline, receipts, cover sheets.

The form works without JavaScript: 添加材料 and 核对案号 are submit buttons that re-render
the same form (one more empty row; the case number checked and the catalog of its case
type offered), and 登记 saves. Every field error is shown under its own field at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from juanzong.edge import counter, printing
from juanzong.edge.counter import SUBMITTER_ROLES, Handover, Submitter, SubmitterRole
from juanzong.edge.intake import ItemSpec
from juanzong.edge.repo import counter as counter_repo
from juanzong.edge.web.context import actor, db, kiosk, now, record, settings
from juanzong.edge.web.forms import DIGITS, ID_CHARS, Form
from juanzong.shared.audit import Action
from juanzong.shared.caseno import parse_case_number
from juanzong.shared.catalog import Catalog, catalog_for
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, require_id

bp = Blueprint("counter", __name__, url_prefix="/counter")

START_ROWS = 3
MAX_ROWS = 40
MAX_PAGES = 5000
ITEM_FIELDS = ("name", "catalog", "volume", "copies", "pages", "original", "colour", "return")
VOLUMES = {"main": "正卷", "internal": "副卷"}
ORIGINAL = {"original": "原件", "copy": "复印件"}
COLOUR = {"colour": "彩色", "bw": "黑白"}
DEFAULT_TYPE = "民初"


# ---- the form


def _rows(data: Any) -> list[dict[str, str]]:
    try:
        count = min(MAX_ROWS, max(1, int(data.get("rows", START_ROWS))))
    except (TypeError, ValueError):
        count = START_ROWS
    return [{f: str(data.get(f"items-{i}-{f}", "")) for f in ITEM_FIELDS} for i in range(count)]


def _blank_row() -> dict[str, str]:
    return {f: "" for f in ITEM_FIELDS}


def _catalog(case_text: str, pending: bool) -> tuple[Catalog | None, str]:
    """The catalog offered for the items, and a line about the case number as typed."""
    if pending or not case_text:
        return _safe_catalog(DEFAULT_TYPE), ""
    try:
        case = parse_case_number(case_text)
    except AppError:
        return _safe_catalog(DEFAULT_TYPE), ""
    found = _safe_catalog(case.type_code, case.court)
    return found or _safe_catalog(DEFAULT_TYPE), f"{case.canonical}（{case.type_name}）"


def _safe_catalog(type_code: str, court: str | None = None) -> Catalog | None:
    try:
        return catalog_for(type_code, court=court)
    except AppError:
        return None


def _render_form(values: dict[str, str], rows: list[dict[str, str]], errors: dict[str, str], status: int = 200) -> Any:
    catalog, case_line = _catalog(values.get("case", ""), values.get("pending") == "1")
    return render_template(
        "intake_form.html",
        values=values,
        rows=rows,
        errors=errors,
        catalog=catalog,
        case_line=case_line,
        roles=SUBMITTER_ROLES,
        volumes=VOLUMES,
        original=ORIGINAL,
        colour=COLOUR,
        keep_open=True,
    ), status


@bp.get("/intake/new")
def new_intake() -> Any:
    return _render_form({"submitter_role": "party"}, [_blank_row() for _ in range(START_ROWS)], {})


@bp.post("/intake/new")
def submit_intake() -> Any:
    values = {k: str(v) for k, v in request.form.items() if not k.startswith("items-")}
    rows = _rows(request.form)
    action = request.form.get("action", "save")
    if action == "add_row":
        return _render_form(values, rows + [_blank_row()] if len(rows) < MAX_ROWS else rows, {})
    form = Form(request.form)
    if form.flag("classified"):
        return _refuse_classified(form, values, rows)
    handover = _read_handover(form, rows)
    if action == "check":
        _check_case(form, handover)
        return _render_form(values, rows, form.errors, 200)
    if not form.ok or handover is None:
        return _render_form(values, rows, form.errors, 400)
    try:
        registered = counter.register(db(), settings(), kiosk().vault, handover, received_at=now(), clerk=actor(), now=now())
    except AppError as err:
        form.fail(_field_of(err), err)
        return _render_form(values, rows, form.errors, 400)
    flash("已登记。请打印回执交提交人，并打印封面页放在每件材料之前。", "ok")
    return redirect(url_for("counter.show_intake", intake_id=registered.intake_id))


def _refuse_classified(form: Form, values: dict[str, str], rows: list[dict[str, str]]) -> Any:
    """涉密: refused before anything is stored, through edge.intake (which audits the refusal)."""
    refused = Handover(form.text("case", "案号"), Submitter(form.text("submitter", "提交人"), SubmitterRole.OTHER), (), classified=True)
    try:
        counter.register(db(), settings(), kiosk().vault, refused, received_at=now(), clerk=actor(), now=now())
    except AppError as err:
        form.errors.clear()
        form.fail("classified", err)
    return _render_form(values, rows, form.errors, 400)


def _field_of(err: AppError) -> str:
    return {
        ErrorCode.CASE_CLASSIFIED_REFUSED: "classified",
        ErrorCode.URGENT_REASON_REQUIRED: "urgent_reason",
        ErrorCode.CATALOG_DIR_UNKNOWN: "items",
        ErrorCode.INTAKE_ITEM_INVALID: "items",
    }.get(err.code, "case")


def _check_case(form: Form, handover: Handover | None) -> None:
    if handover is not None and not handover.pending and handover.case_text:
        try:
            parse_case_number(handover.case_text)
        except AppError as err:
            form.fail("case", err)


def _read_handover(form: Form, rows: list[dict[str, str]]) -> Handover | None:
    pending = form.flag("pending")
    case_text = form.text("case", "案号", required=not pending, max_len=60)
    if case_text and not pending:
        try:
            parse_case_number(case_text)
        except AppError as err:
            form.fail("case", err)
    submitter = Submitter(
        name=form.text("submitter", "提交人姓名", required=True, max_len=60),
        role=SubmitterRole(form.choice("submitter_role", "提交人身份", SUBMITTER_ROLES, "party")),
        id_number=form.pattern("id_number", "证件号码", ID_CHARS, "只能包含数字和字母 X", 18),
        phone=form.pattern("phone", "联系电话", DIGITS + "-", "只能包含数字", 20),
    )
    urgent = form.flag("urgent")
    reason = form.text("urgent_reason", "加急理由", required=urgent, max_len=200)
    items = _read_items(form, rows)
    if not form.ok:
        return None
    return Handover(case_text, submitter, tuple(items), pending, urgent, reason, False, form.text("note", "备注", max_len=500))


def _read_items(form: Form, rows: list[dict[str, str]]) -> list[ItemSpec]:
    items = []
    for i, row in enumerate(rows):
        if not row["name"].strip() and not row["pages"].strip():
            continue
        p = f"items-{i}-"
        items.append(
            ItemSpec(
                name=form.text(p + "name", f"第 {i + 1} 行材料名称", required=True, max_len=100),
                pages=form.number(p + "pages", f"第 {i + 1} 行页数", high=MAX_PAGES),
                volume=form.choice(p + "volume", f"第 {i + 1} 行卷别", VOLUMES, "main"),
                original=form.choice(p + "original", f"第 {i + 1} 行原件/复印件", ORIGINAL, "original") == "original",
                colour=form.choice(p + "colour", f"第 {i + 1} 行彩色/黑白", COLOUR, "colour") == "colour",
                copies=form.number(p + "copies", f"第 {i + 1} 行份数", high=100, default=1),
                return_original=form.flag(p + "return"),
                catalog_dir=form.text(p + "catalog", f"第 {i + 1} 行目录", max_len=100),
            )
        )
    if not items:
        form.fail("items-0-name", AppError(ErrorCode.FIELD_REQUIRED, field="材料（至少一项）"))
    return items


# ---- the saved intake


def _intake_id(raw: str) -> str:
    return require_id(raw, Kind.INTAKE)


@bp.get("/intake/<intake_id>")
def show_intake(intake_id: str) -> Any:
    v = counter.view(db(), kiosk().vault, _intake_id(intake_id))
    record(Action.READ, v.id, what="intake")
    jobs = printing.repo.of_intake(db(), v.id)
    return render_template("intake.html", v=v, jobs=jobs, job_names=printing.JOB_NAMES)


@bp.post("/intake/<intake_id>/receipt")
def print_receipt(intake_id: str) -> Any:
    v = counter.view(db(), kiosk().vault, _intake_id(intake_id))
    printing.queue_receipt(db(), settings(), v.id, actor=actor(), vault=kiosk().vault)
    _flush_and_tell()
    return redirect(url_for("counter.show_intake", intake_id=v.id))


@bp.post("/intake/<intake_id>/labels")
def print_labels(intake_id: str) -> Any:
    v = counter.view(db(), kiosk().vault, _intake_id(intake_id))
    for item in v.items:
        printing.queue(
            db(),
            settings(),
            printing.JobKind.LABEL,
            v.id,
            counter.cover_label(v, item),
            target=item["id"],
            actor=actor(),
            vault=kiosk().vault,
        )
    _flush_and_tell()
    return redirect(url_for("counter.show_intake", intake_id=v.id))


@bp.get("/intake/<intake_id>/covers.pdf")
def covers(intake_id: str) -> Any:
    v = counter.view(db(), kiosk().vault, _intake_id(intake_id))
    pdf = counter.covers_pdf(v)
    record(Action.PRINT, v.id, what="cover_sheets_pdf", items=len(v.items))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="covers-{v.id}.pdf"', "Cache-Control": "no-store"},
    )


@bp.post("/intake/<intake_id>/link")
def link(intake_id: str) -> Any:
    v = counter.view(db(), kiosk().vault, _intake_id(intake_id))
    form = Form(request.form)
    case_text = form.text("case", "案号", required=True, max_len=60)
    if form.ok:
        try:
            linked = counter.link_case(db(), settings(), v.id, case_text, actor(), now())
            flash(f"已关联案号 {linked}", "ok")
            return redirect(url_for("counter.show_intake", intake_id=v.id))
        except AppError as err:
            form.fail("case", err)
    jobs = printing.repo.of_intake(db(), v.id)
    return render_template("intake.html", v=v, jobs=jobs, job_names=printing.JOB_NAMES, link_errors=form.errors, link_value=case_text), 400


# ---- print queue


@bp.post("/print/retry")
def retry() -> Any:
    _flush_and_tell()
    return redirect(_back())


@bp.post("/print/<job_id>/reprint")
def reprint(job_id: str) -> Any:
    job = printing.repo.get(db(), require_id(job_id, Kind.PRINT_JOB))
    if job is None:
        raise AppError(ErrorCode.PRINT_JOB_NOT_FOUND, job_id=job_id)
    printing.reprint(db(), settings(), job.id, actor(), vault=kiosk().vault)
    _flush_and_tell()
    return redirect(_back())


def _flush_and_tell() -> None:
    results = printing.flush(db(), settings(), vault=kiosk().vault)
    failed = [r for r in results if not r["printed"]]
    if failed:
        flash(f"{failed[0]['message']}（{len(failed)} 项待打印）", "warning")
    elif results:
        flash(f"已打印 {len(results)} 项", "ok")


def _back() -> str:
    target = request.form.get("back", "")
    return target if target.startswith("/") and not target.startswith("//") else url_for("dashboard.index")


@bp.get("/intakes")
def intakes() -> Any:
    start, end = today_range()
    return render_template("intakes.html", rows=counter_repo.intakes_between(db(), start, end))


def today_range() -> tuple[str, str]:
    """Today in court local time, as ISO bounds comparable with stored received_at."""
    start = now().replace(hour=0, minute=0, second=0, microsecond=0)
    return start.isoformat(), (start + timedelta(days=1)).isoformat()
