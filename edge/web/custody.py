"""材料流转登记: find a case, record submit / transfer / borrow, return a loan, print the register."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from juanzong.edge import custody
from juanzong.edge.custody import CONDITION_NAMES, KIND_NAMES, Condition, EventKind, Movement, Signature
from juanzong.edge.repo import counter as counter_repo
from juanzong.edge.web.context import actor, db, kiosk, now, operator, record, settings
from juanzong.edge.web.forms import Form, signature
from juanzong.shared.audit import Action
from juanzong.shared.caseno import parse_case_number
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, require_id

bp = Blueprint("custody", __name__, url_prefix="/custody")

NEW_KINDS = {k: KIND_NAMES[k] for k in (EventKind.SUBMIT, EventKind.TRANSFER, EventKind.BORROW)}


def _case(text: str) -> str:
    """A case number as stored: parsed and normalised, or a 待立案 temporary number as is."""
    text = " ".join(text.split())
    return text if text.startswith("待立案") else parse_case_number(text).canonical


@bp.get("/")
def index() -> Any:
    raw = request.args.get("case", "").strip()
    if not raw:
        return render_template("custody.html", case=None, raw="", loans=custody.open_loans(db()), errors={})
    try:
        case = _case(raw)
    except AppError as err:
        return render_template("custody.html", case=None, raw=raw, loans=custody.open_loans(db()), errors={"case": err.message}), 400
    return _case_page(case, {}, {})


def _case_page(case: str, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    due = (now() + timedelta(days=settings().loan_days)).strftime("%Y-%m-%dT%H:%M")
    return render_template(
        "custody.html",
        case=case,
        raw=case,
        items=counter_repo.items_of_case(db(), case),
        events=custody.register_of(db(), case),
        loans=custody.open_loans(db(), case),
        kinds=NEW_KINDS,
        kind_names=KIND_NAMES,
        condition_names=CONDITION_NAMES,
        values={"kind": "borrow", "due_back": due, "from_party": op.name if (op := operator()) else "", **values},
        errors=errors,
        keep_open=True,
    ), status


def _signatures(form: Form, from_party: str, to_party: str) -> tuple[Signature | None, Signature | None]:
    a = signature(form, "sig_from", "交出方", from_party)
    b = signature(form, "sig_to", "接收方", to_party)
    return (Signature(a.method, a.data) if a else None, Signature(b.method, b.data) if b else None)


@bp.post("/event")
def new_event() -> Any:
    form = Form(request.form)
    case = _case(request.form.get("case", ""))
    kind = EventKind(form.choice("kind", "类型", NEW_KINDS, "borrow"))
    from_party = form.text("from_party", "交出方", required=True, max_len=60)
    to_party = form.text("to_party", "接收方", required=True, max_len=60)
    purpose = form.text("purpose", "用途", required=kind is EventKind.BORROW, max_len=200)
    due_back = _due(form) if kind is EventKind.BORROW else None
    items = _items(form, counter_repo.items_of_case(db(), case))
    sig_from, sig_to = _signatures(form, from_party, to_party)
    values = {k: str(v) for k, v in request.form.items() if not k.startswith("sig_")}
    if not form.ok or sig_from is None or sig_to is None:
        return _case_page(case, values, form.errors, 400)
    move = Movement(kind, case, from_party, to_party, tuple(items), sig_from, sig_to, purpose, due_back)
    try:
        custody.record(db(), settings(), kiosk().vault, move, at=now(), clerk=actor())
    except AppError as err:
        form.fail("items", err)
        return _case_page(case, values, form.errors, 400)
    flash(f"已登记{KIND_NAMES[kind]}：{len(items)} 件材料", "ok")
    return redirect(url_for("custody.index", case=case))


def _due(form: Form) -> datetime | None:
    raw = form.text("due_back", "应还时间", required=True)
    try:
        due = datetime.fromisoformat(raw).replace(tzinfo=now().tzinfo) if raw else None
    except ValueError:
        form.fail("due_back", AppError(ErrorCode.FIELD_INVALID, field="应还时间", reason="格式应为 年-月-日 时:分"))
        return None
    if due is not None and due <= now():
        form.fail("due_back", AppError(ErrorCode.FIELD_INVALID, field="应还时间", reason="应晚于现在"))
    return due


def _items(form: Form, case_items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    chosen = []
    for item in case_items:
        if form.flag(f"item-{item['id']}"):
            pages = form.number(
                f"pages-{item['id']}", f"{item['name']}的页数", high=100_000, default=item["declared_pages"] * item["copies"]
            )
            chosen.append((item["id"], pages))
    if not chosen:
        form.fail("items", AppError(ErrorCode.CUSTODY_ITEMS_REQUIRED))
    return chosen


# ---- returning a loan


def _loan_id(raw: str) -> str:
    return require_id(raw, Kind.CUSTODY)


@bp.get("/return/<loan_id>")
def return_form(loan_id: str) -> Any:
    loan = custody.loan(db(), _loan_id(loan_id))
    return _return_page(loan, {"condition": "complete", "to_party": op.name if (op := operator()) else ""}, {})


def _return_page(loan: dict[str, Any], values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    return render_template(
        "custody_return.html", loan=loan, values=values, errors=errors, condition_names=CONDITION_NAMES, keep_open=True
    ), status


@bp.post("/return/<loan_id>")
def return_submit(loan_id: str) -> Any:
    loan = custody.loan(db(), _loan_id(loan_id))
    form = Form(request.form)
    condition = Condition(form.choice("condition", "材料状况", CONDITION_NAMES, "complete"))
    note = form.text("note", "状况说明", required=condition is not Condition.COMPLETE, max_len=500)
    to_party = form.text("to_party", "接收人", required=True, max_len=60)
    pages = {
        i["item_id"]: form.number(f"pages-{i['item_id']}", f"{i['name']}归还页数", low=0, high=100_000, default=i["pages"])
        for i in loan["items"]
    }
    sig_from, sig_to = _signatures(form, loan["to_party"], to_party)
    values = {k: str(v) for k, v in request.form.items() if not k.startswith("sig_")}
    if not form.ok or sig_from is None or sig_to is None:
        return _return_page(loan, values, form.errors, 400)
    move = Movement(
        EventKind.RETURN,
        loan["case_number"],
        loan["to_party"],
        to_party,
        tuple(pages.items()),
        sig_from,
        sig_to,
        loan_id=loan["id"],
        condition=condition,
        note=note,
    )
    custody.record(db(), settings(), kiosk().vault, move, at=now(), clerk=actor())
    flash(f"已登记归还（{CONDITION_NAMES[condition]}）", "ok")
    return redirect(url_for("custody.index", case=loan["case_number"]))


@bp.get("/register.pdf")
def register_pdf() -> Any:
    case = _case(request.args.get("case", ""))
    pdf = custody.register_pdf(db(), kiosk().vault, case, settings().court, now())
    record(Action.PRINT, case, what="custody_register_pdf")
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": 'inline; filename="custody-register.pdf"', "Cache-Control": "no-store"},
    )
