"""文书领取: register served documents to be collected; hand them over with a signature."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from juanzong.edge import pickup, printing
from juanzong.edge.custody import Signature
from juanzong.edge.pickup import ID_TYPES, Document, IdType
from juanzong.edge.web.context import actor, db, kiosk, now, operator, settings
from juanzong.edge.web.counter import _flush_and_tell
from juanzong.edge.web.forms import ID_CHARS, Form, signature
from juanzong.shared.caseno import parse_case_number
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, require_id

bp = Blueprint("pickup", __name__, url_prefix="/pickup")
START_ROWS = 3
MAX_ROWS = 20


def _rows(data: Any) -> list[dict[str, str]]:
    try:
        count = min(MAX_ROWS, max(1, int(data.get("rows", START_ROWS))))
    except (TypeError, ValueError):
        count = START_ROWS
    return [{"name": str(data.get(f"doc-{i}-name", "")), "copies": str(data.get(f"doc-{i}-copies", ""))} for i in range(count)]


def _index(values: dict[str, str], rows: list[dict[str, str]], errors: dict[str, str], status: int = 200) -> Any:
    return render_template("pickup.html", waiting=pickup.waiting(db()), values=values, rows=rows, errors=errors), status


@bp.get("/")
def index() -> Any:
    return _index({}, [{"name": "", "copies": ""} for _ in range(START_ROWS)], {})


@bp.post("/register")
def register() -> Any:
    rows = _rows(request.form)
    values = {k: str(v) for k, v in request.form.items() if not k.startswith("doc-")}
    if request.form.get("action") == "add_row":
        return _index(values, rows + [{"name": "", "copies": ""}] if len(rows) < MAX_ROWS else rows, {})
    form = Form(request.form)
    case_text = form.text("case", "案号", required=True, max_len=60)
    if case_text:
        try:
            parse_case_number(case_text)
        except AppError as err:
            form.fail("case", err)
    addressee = form.text("addressee", "受送达人", required=True, max_len=60)
    documents = [
        Document(
            form.text(f"doc-{i}-name", f"第 {i + 1} 行文书名称", required=True, max_len=100),
            form.number(f"doc-{i}-copies", f"第 {i + 1} 行份数", high=100, default=1),
        )
        for i, r in enumerate(rows)
        if r["name"].strip()
    ]  # copies is prefilled with 1 on empty rows
    if not documents:
        form.fail("doc-0-name", AppError(ErrorCode.FIELD_REQUIRED, field="文书（至少一项）"))
    if not form.ok:
        return _index(values, rows, form.errors, 400)
    pickup.register(db(), settings(), case_text=case_text, addressee=addressee, documents=documents, registered_by=actor(), at=now())
    flash(f"已登记待领取文书：{addressee}", "ok")
    return redirect(url_for("pickup.index"))


def _pickup_id(raw: str) -> str:
    return require_id(raw, Kind.PICKUP)


@bp.get("/<pickup_id>")
def show(pickup_id: str) -> Any:
    row = pickup.get(db(), _pickup_id(pickup_id))
    return _show(row, {"id_type": "resident_id"}, {})


def _show(row: dict[str, Any], values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    jobs = [j for j in printing.repo.of_intake(db(), row["intake_id"])] if row.get("intake_id") else []
    return render_template(
        "pickup_handover.html",
        p=row,
        values=values,
        errors=errors,
        id_types=ID_TYPES,
        jobs=jobs,
        job_names=printing.JOB_NAMES,
        keep_open=not row["handed_at"],
    ), status


@bp.post("/<pickup_id>/handover")
def handover(pickup_id: str) -> Any:
    row = pickup.get(db(), _pickup_id(pickup_id))
    form = Form(request.form)
    id_type = IdType(form.choice("id_type", "证件类型", ID_TYPES, "resident_id"))
    id_number = form.pattern("id_number", "证件号码", ID_CHARS + "ABCDEFGHIJKLMNOPQRSTUVWYZ-", "只能包含数字和字母", 30)
    if not form.flag("identity_checked"):
        form.fail("identity_checked", AppError(ErrorCode.FIELD_REQUIRED, field="已核对受送达人身份"))
    sig = signature(form, "sig_addressee", "受送达人", row["addressee"])
    values = {k: str(v) for k, v in request.form.items() if not k.startswith("sig_")}
    if not form.ok or sig is None:
        return _show(row, values, form.errors, 400)
    op = operator()
    pickup.hand_over(
        db(),
        settings(),
        kiosk().vault,
        row["id"],
        id_type=id_type,
        id_number=id_number,
        signature=Signature(sig.method, sig.data),
        clerk=actor(),
        clerk_name=op.name if op else actor(),
        at=now(),
    )
    _flush_and_tell()
    flash("已交付并签收，送达回证已归入案件卷宗", "ok")
    return redirect(url_for("pickup.show", pickup_id=row["id"]))
