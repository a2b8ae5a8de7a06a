"""The office pages' handlers: thin, each a query or one action, rendering a template.

Reading a document or a page image decrypts in memory and streams it with
`Cache-Control: no-store`; every such read is audited with the user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from juanzong.central import audit, documents
from juanzong.central.export.content import holds_current_pages, item_pdf, page_master
from juanzong.central.export.model import load_dossiers
from juanzong.central.notices import api_notices
from juanzong.central.office import batches as batch_view
from juanzong.central.office import cases as case_search
from juanzong.central.office import exceptions as exception_queue
from juanzong.central.office import fourprops, sampling, tasks
from juanzong.central.office.app import SESSION_COOKIE, current_user, logged_in, may_act, may_audit, office, page
from juanzong.central.office.overview import overview
from juanzong.central.office.users import authenticate, end_session, start_session
from juanzong.shared.audit import Action
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, is_valid_id, normalise_id

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


# --- login ----------------------------------------------------------------------------------------


@get("/login", sync_to_thread=False)
def login_form(request: Request[Any, Any, Any], next: str = "/") -> Template:
    return page(request, "office/login.html", next=_safe(next), user_id="", error=None)


@post("/login", sync_to_thread=True)
def login(request: Request[Any, Any, Any], data: Form, next: str = "/") -> Response[Any]:
    state = office(request)
    user_id = data.get("user_id", "").strip()
    try:
        user = authenticate(
            state.repo,
            state.central.repo.engine,
            user_id,
            data.get("password", ""),
            state.now(),
            where=request.client.host if request.client else "office",
        )
    except AppError as err:
        return page(request, "office/login.html", status=401, next=_safe(next), user_id=user_id, error=err)
    token = start_session(state.repo, user, state.now())
    cookie = Cookie(key=SESSION_COOKIE, value=token, httponly=True, secure=state.secure, samesite="strict", path="/")
    return Redirect(path=_safe(next), status_code=303, cookies=[cookie])


@post("/logout", guards=[logged_in], sync_to_thread=True)
def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    state = office(request)
    end_session(state.repo, state.central.repo.engine, request.cookies.get(SESSION_COOKIE, ""), current_user(request), state.now())
    return Redirect(path="/login", status_code=303, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])


def _safe(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


# --- overview and exceptions ------------------------------------------------------------------------


@get("/", guards=[logged_in], sync_to_thread=True)
def index(request: Request[Any, Any, Any]) -> Template:
    state = office(request)
    refusals = exception_queue.refusals_by_appliance(state.central.repo.engine)
    return page(request, "office/overview.html", points=overview(state.central.repo, state.now(), refusals))


@get("/batches", guards=[logged_in], sync_to_thread=True)
def batches(request: Request[Any, Any, Any]) -> Template:
    state = office(request)
    refusals = exception_queue.refusals_by_appliance(state.central.repo.engine)
    return page(request, "office/batches.html", points=batch_view.by_point(state.central.repo, refusals))


@get("/exceptions", guards=[logged_in], sync_to_thread=True)
def exceptions(request: Request[Any, Any, Any]) -> Template:
    state = office(request)
    return page(request, "office/exceptions.html", queue=exception_queue.build(state.central.repo, state.repo, state.now()))


@post("/exceptions/resolve", guards=[may_act], sync_to_thread=True)
def resolve_exception(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    state = office(request)
    action = data.get("action", "").strip()
    if not action:
        raise AppError(ErrorCode.FIELD_REQUIRED, field="处理情况")
    exception_queue.record_action(
        state.repo,
        state.central.repo.engine,
        data.get("kind", ""),
        data.get("target", ""),
        action[:500],
        current_user(request).user_id,
        state.now(),
    )
    return Redirect(path="/exceptions", status_code=303)


# --- find and read ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchForm:
    q: str = ""
    submitter: str = ""
    date_from: str = ""
    date_to: str = ""
    point: str = ""


@get("/cases", guards=[logged_in], sync_to_thread=True)
def cases(
    request: Request[Any, Any, Any], q: str = "", submitter: str = "", date_from: str = "", date_to: str = "", point: str = ""
) -> Template:
    state = office(request)
    form = SearchForm(q.strip(), submitter.strip(), date_from, date_to, point)
    asked = any(form.__dict__.values())
    results = case_search.search(state.central.repo, **form.__dict__) if asked else None
    if asked:
        audit.record(
            state.central.repo.engine,
            actor=current_user(request).user_id,
            action=Action.READ,
            target="search",
            query={k: v for k, v in form.__dict__.items() if v},
            results=len(results or []),
        )
    return page(request, "office/cases.html", form=form, results=results, appliances=state.central.repo.appliances(), quote=quote)


@get("/cases/{case_number:str}", guards=[logged_in], sync_to_thread=True)
def case_page(request: Request[Any, Any, Any], case_number: str) -> Template:
    state = office(request)
    (dossier,) = load_dossiers(state.central.repo, case=case_number)
    audit.record(
        state.central.repo.engine, actor=current_user(request).user_id, action=Action.READ, target=dossier.case_number, what="dossier"
    )
    details = case_search.case_details(state.central.repo, dossier)
    return page(request, "office/case.html", dossier=dossier, details=details)


@get("/items/{item_id:str}/document", guards=[logged_in], sync_to_thread=True)
def document(request: Request[Any, Any, Any], item_id: str) -> Response[bytes]:
    state = office(request)
    item = case_search.item_entry(state.central.repo, _id(item_id, Kind.ITEM))
    ref = documents.current_document(state.central, item.item_id)
    stored = ref if ref is not None and holds_current_pages(ref, item) else None
    audit.record(
        state.central.repo.engine,
        actor=current_user(request).user_id,
        action=Action.READ,
        target=item.item_id,
        what="document",
        pages=len(item.pages),
        key_use="hpke",
        document=stored.document_id if stored else "",
    )
    # the appliance's stamped (searchable once OCR is done) PDF; assembled from the masters only without one
    pdf = documents.decrypt_document(state.central, stored) if stored else item_pdf([page_master(state.central, p) for p in item.pages])
    headers = {**NO_STORE, "Content-Disposition": f"inline; filename={item.item_id}.pdf"}
    return Response(pdf, media_type="application/pdf", headers=headers)


@get("/pages/{page_id:str}/image", guards=[logged_in], sync_to_thread=True)
def page_image(request: Request[Any, Any, Any], page_id: str) -> Response[bytes]:
    from juanzong.central.export.content import extension
    from juanzong.central.export.model import PageEntry

    state = office(request)
    ref = state.central.repo.page(_id(page_id, Kind.PAGE))
    if ref is None:
        raise AppError(ErrorCode.PAGE_NOT_FOUND, page_id=page_id)
    audit.record(
        state.central.repo.engine,
        actor=current_user(request).user_id,
        action=Action.READ,
        target=ref.page_id,
        what="page image",
        key_use="hpke",
    )
    data = page_master(state.central, PageEntry(ref.page_id, 0, 0, "", ref.blob_sha256, ref.source_sha256, ref.blob_kind))
    media = {"jpg": "image/jpeg", "png": "image/png", "tif": "image/tiff", "pdf": "application/pdf"}.get(
        extension(data), "application/octet-stream"
    )
    return Response(data, media_type=media, headers=NO_STORE)


def _id(text: str, kind: Kind) -> str:
    if not is_valid_id(text, kind):
        raise AppError(ErrorCode.ID_INVALID, text=text[:40])
    return normalise_id(text)


# --- audit ------------------------------------------------------------------------------------------


@get("/audit", guards=[may_audit], sync_to_thread=True)
def audit_view(request: Request[Any, Any, Any], actor: str = "", action: str = "", case: str = "") -> Template:
    state = office(request)
    engine = state.central.repo.engine
    rows = audit.records(engine)
    witnessed, _bad_lines = audit.witnesses(state.central)
    broken = audit.verify_chain(engine, witnessed)  # also truncation and re-chaining, against the witnessed heads
    shown = [rec for rec, _ in rows if _matches(rec, actor, action, case)]
    audit.record(
        engine,
        actor=current_user(request).user_id,
        action=Action.READ,
        target="audit",
        filters={"actor": actor, "action": action, "case": case},
    )
    return page(
        request,
        "office/audit.html",
        records=list(reversed(shown))[:500],
        total=len(rows),
        broken=broken,
        filters={"actor": actor, "action": action, "case": case},
        actions=sorted({r.action for r, _ in rows}),
    )


def _matches(rec: Any, actor: str, action: str, case: str) -> bool:
    return (
        (not actor or actor in rec.actor)
        and (not action or rec.action == action)
        and (not case or case in rec.target or case in str(rec.detail))
    )


HANDLERS = [login_form, login, logout, index, batches, exceptions, resolve_exception, cases, case_page, document, page_image, audit_view]


# --- sampling -------------------------------------------------------------------------------------


@get("/sampling", guards=[logged_in], sync_to_thread=True)
def sampling_list(request: Request[Any, Any, Any]) -> Template:
    state = office(request)
    batches = _recent_batches(state)
    return page(request, "office/sampling.html", rounds=state.repo.rounds(), batches=batches, min_percent=sampling.MIN_PERCENT)


@post("/sampling/draw", guards=[may_act], sync_to_thread=True)
def sampling_draw(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    state = office(request)
    percent = _int(data.get("percent", ""), "抽检比例")
    round_id = sampling.start_round(
        state.central.repo,
        state.repo,
        current_user(request),
        batch_id=data.get("batch_id", ""),
        date_from=data.get("date_from", ""),
        date_to=data.get("date_to", ""),
        percent=percent,
        seed=data.get("seed", ""),
        now=state.now(),
    )
    return Redirect(path=f"/sampling/{round_id}", status_code=303)


@get("/sampling/{round_id:str}", guards=[logged_in], sync_to_thread=True)
def sampling_round(request: Request[Any, Any, Any], round_id: str) -> Template:
    state = office(request)
    head, items = _round_or_404(state, round_id)
    return page(
        request,
        "office/sampling_round.html",
        head=head,
        items=items,
        results=sampling.results(items),
        names=_item_names(state, [i["item_id"] for i in items]),
        defects=sampling.DEFECTS,
        label=sampling.category_label,
    )


@post("/sampling/{round_id:str}/verdict", guards=[may_act])
async def sampling_verdict(request: Request[Any, Any, Any], round_id: str) -> Response[Any]:
    form = await request.form()
    state = office(request)
    await _in_thread(
        sampling.record_verdict,
        state.central.repo,
        state.repo,
        current_user(request),
        round_id,
        str(form.get("item_id", "")),
        str(form.get("verdict", "")),
        [str(d) for d in form.getall("defects", [])],
        str(form.get("note", "")),
        state.now(),
    )
    return Redirect(path=f"/sampling/{round_id}", status_code=303)


@post("/sampling/{round_id:str}/signoff", guards=[may_act], sync_to_thread=True)
def sampling_signoff(request: Request[Any, Any, Any], round_id: str) -> Response[Any]:
    state = office(request)
    sampling.sign_off(state.central.repo, state.repo, current_user(request), round_id, state.now())
    return Redirect(path=f"/sampling/{round_id}", status_code=303)


@get("/sampling/{round_id:str}/report.pdf", guards=[logged_in], sync_to_thread=True)
def sampling_report(request: Request[Any, Any, Any], round_id: str) -> Response[bytes]:
    state = office(request)
    head, items = _round_or_404(state, round_id)
    pdf = sampling.report_pdf(head, items, _item_names(state, [i["item_id"] for i in items]))
    return Response(
        pdf, media_type="application/pdf", headers={**NO_STORE, "Content-Disposition": f"inline; filename=sampling-{round_id}.pdf"}
    )


def _round_or_404(state: Any, round_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    found = state.repo.round(round_id)
    if found is None:
        raise AppError(ErrorCode.SAMPLING_NOT_FOUND, round_id=round_id[:20])
    return found


def _item_names(state: Any, item_ids: list[str]) -> dict[str, str]:
    from sqlalchemy import select

    from juanzong.central import db

    with state.central.repo.engine.connect() as conn:
        rows = conn.execute(select(db.items.c.item_id, db.items.c.name).where(db.items.c.item_id.in_(item_ids))).all()
    return {r[0]: r[1] for r in rows}


def _recent_batches(state: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from juanzong.central import db

    b = db.batches
    with state.central.repo.engine.connect() as conn:
        rows = conn.execute(
            select(b.c.batch_id, b.c.appliance_id, b.c.seq, b.c.page_count, b.c.received_at).order_by(b.c.received_at.desc()).limit(200)
        ).all()
    return [dict(r._mapping) for r in rows]


def _int(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise AppError(ErrorCode.FIELD_INVALID, field=field, reason="应为整数") from exc


async def _in_thread(func: Any, *args: Any) -> Any:
    import anyio

    return await anyio.to_thread.run_sync(lambda: func(*args))


# --- four-property checks --------------------------------------------------------------------------


@get("/checks", guards=[logged_in], sync_to_thread=True)
def checks_list(request: Request[Any, Any, Any]) -> Template:
    state = office(request)
    return page(request, "office/checks.html", checks=state.repo.checks(), batches=_recent_batches(state))


@post("/checks/run", guards=[may_act], sync_to_thread=True)
def checks_run(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    state = office(request)
    batch_id = _id(data.get("batch_id", ""), Kind.BATCH)
    check_id = fourprops.run_check(
        state.central,
        state.repo,
        batch_id,
        actor=current_user(request).user_id,
        now=state.now(),
        clamav_db=state.central.settings.clamav_database or None,
    )
    return Redirect(path=f"/checks/{check_id}", status_code=303)


@get("/checks/{check_id:str}", guards=[logged_in], sync_to_thread=True)
def check_report(request: Request[Any, Any, Any], check_id: str) -> Template:
    state = office(request)
    row = state.repo.check(check_id)
    if row is None:
        raise AppError(ErrorCode.BATCH_NOT_FOUND, batch_id=check_id[:20])
    return page(request, "office/check.html", row=row, result=json.loads(row["result"]))


@get("/checks/{check_id:str}/report.json", guards=[logged_in], sync_to_thread=True)
def check_export(request: Request[Any, Any, Any], check_id: str) -> Response[bytes]:
    state = office(request)
    row = state.repo.check(check_id)
    if row is None:
        raise AppError(ErrorCode.BATCH_NOT_FOUND, batch_id=check_id[:20])
    body = json.dumps({**row, "result": json.loads(row["result"]), "standard": "DA/T 70-2018"}, ensure_ascii=False, indent=2)
    return Response(
        body.encode("utf-8"),
        media_type="application/json",
        headers={"Content-Disposition": f"attachment; filename=four-property-{check_id}.json"},
    )


HANDLERS += [
    sampling_list,
    sampling_draw,
    sampling_round,
    sampling_verdict,
    sampling_signoff,
    sampling_report,
    checks_list,
    checks_run,
    check_report,
    check_export,
]


# --- exports and backups ----------------------------------------------------------------------------


@get("/exports", guards=[may_act], sync_to_thread=True)
def exports_page(request: Request[Any, Any, Any]) -> Template:
    state = office(request)
    settings = state.central.settings
    runs = tasks.last_runs(audit.records(state.central.repo.engine))
    return page(
        request,
        "office/exports.html",
        root=settings.office_export_dir,
        required=settings.backup_copies_required,
        sqlserver=settings.sqlserver.label if settings.sqlserver else None,
        tasks=state.tasks.recent(),
        backups=runs.backups,
        exports=runs.exports,
    )


@post("/exports/{fmt:str}", guards=[may_act], sync_to_thread=True)
def exports_run(request: Request[Any, Any, Any], fmt: str, data: Form) -> Response[Any]:
    from juanzong.central.export.jobs import FORMATS, Scope, run_export

    state = office(request)
    if fmt not in FORMATS:
        raise AppError(ErrorCode.EXPORT_FAILED, detail=f"未知的导出格式 {fmt[:20]}")
    stamp = state.now().strftime("%Y%m%d-%H%M%S")
    out = state.central.settings.office_export_dir / (f"{fmt}-{stamp}.xlsx" if fmt == "excel" else f"{fmt}-{stamp}")
    scope = Scope(data.get("case") or None, data.get("since") or None)
    actor, now = current_user(request).user_id, state.now()
    options = {
        "ascii_names": bool(data.get("ascii")),
        "xml": bool(data.get("xml")),
        "bcp": bool(data.get("bcp")),
        "load": bool(data.get("load")),
    }
    task = state.tasks.start(
        "export",
        f"导出：{tasks.EXPORT_LABELS[fmt]}",
        actor,
        str(out),
        lambda progress: run_export(state.central, fmt, out, scope, actor=actor, now=now, progress=progress, **options),
    )
    return Redirect(path=f"/jobs/{task.task_id}", status_code=303)


@post("/backups", guards=[may_act], sync_to_thread=True)
def backups_run(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    from juanzong.central.backup import RECOVERY_PUBLIC_FILE, backup, check_copies, load_recovery_public

    state = office(request)
    actor, now = current_user(request).user_id, state.now()
    to = state.central.settings.office_export_dir / "backups"
    copies = check_copies(
        state.central, _int(data.get("copies") or str(state.central.settings.backup_copies_required), "副本数"), actor=actor, to=to
    )  # refused here, on the page, before anything starts
    public = load_recovery_public(state.central.settings.home / RECOVERY_PUBLIC_FILE)
    task = state.tasks.start(
        "backup",
        f"离线备份（{copies} 份）",
        actor,
        str(to),
        lambda progress: backup(state.central, to, copies, public, actor=actor, now=now, progress=progress).to_dict(),
    )
    return Redirect(path=f"/jobs/{task.task_id}", status_code=303)


@post("/backups/verify", guards=[may_act], sync_to_thread=True)
def backups_verify(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Read an earlier backup's copies back again; the copies come from its audit row, never from the form."""
    from pathlib import Path

    from juanzong.central.backup import verify_copies

    state = office(request)
    seq = _int(data.get("seq", ""), "备份编号")
    copies = [Path(c) for c in tasks.backup_copies(audit.records(state.central.repo.engine), seq)]
    actor = current_user(request).user_id

    def work(progress: Any) -> dict[str, Any]:
        progress(0, len(copies), f"正在回读校验 {len(copies)} 份副本")
        checks = verify_copies(state.central, copies, actor=actor, of=seq)
        return {"ok": all(c.ok for c in checks), "copies": [c.to_dict() for c in checks]}

    task = state.tasks.start("verify", f"重新校验备份（{len(copies)} 份）", actor, str(copies[0].parent), work)
    return Redirect(path=f"/jobs/{task.task_id}", status_code=303)


@get("/jobs/{task_id:str}", guards=[may_act], sync_to_thread=True)
def job_page(request: Request[Any, Any, Any], task_id: str) -> Template:
    """A task's state and progress; reloads itself while it runs (no JavaScript)."""
    task = office(request).tasks.get(task_id)
    return page(request, "office/job.html", task=task, running=task.state is tasks.TaskState.RUNNING)


HANDLERS += [exports_page, exports_run, backups_run, backups_verify, job_page]


# --- the case-system client (API token) -------------------------------------------------------------


def _api_user(request: Request[Any, Any, Any]) -> Any:
    from juanzong.central.office.users import api_user

    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    user = api_user(office(request).repo, token)
    if user is None:
        raise AppError(ErrorCode.API_TOKEN_INVALID)
    return user


@get("/api/documents/{item_id:str}", sync_to_thread=True)
def api_document(request: Request[Any, Any, Any], item_id: str) -> Response[bytes]:
    """An item's PDF for the case system (Bearer token of a case_system account); audited."""
    user = _api_user(request)
    state = office(request)
    if documents.current_document(state.central, _id(item_id, Kind.ITEM)) is not None:
        # the appliance's catalogued, stamped and (once OCR is done) searchable PDF; audited by open_document
        _, pdf = documents.open_document(state.central, _id(item_id, Kind.ITEM), actor=user.user_id)
        return Response(pdf, media_type="application/pdf", headers=NO_STORE)
    item = case_search.item_entry(state.central.repo, _id(item_id, Kind.ITEM))
    audit.record(
        state.central.repo.engine, actor=user.user_id, action=Action.READ, target=item.item_id, what="document", via="api", key_use="hpke"
    )
    pdf = item_pdf([page_master(state.central, p) for p in item.pages])
    return Response(pdf, media_type="application/pdf", headers=NO_STORE)


HANDLERS += [api_document, api_notices]
