"""The office pages' handlers: thin, each a query or one action, rendering a template.

Reading a document or a page image decrypts in memory and streams it with
`Cache-Control: no-store`; every such read is audited with the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from juanzong.central import audit
from juanzong.central.export.content import item_pdf, page_master
from juanzong.central.export.model import load_dossiers
from juanzong.central.office import cases as case_search
from juanzong.central.office import exceptions as exception_queue
from juanzong.central.office.app import SESSION_COOKIE, current_user, logged_in, may_act, may_audit, office, page
from juanzong.central.office.overview import overview
from juanzong.central.office.users import authenticate, end_session, start_session
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
        user = authenticate(state.repo, state.central.repo.engine, user_id, data.get("password", ""), state.now(),
                            where=request.client.host if request.client else "office")
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
    exception_queue.record_action(state.repo, state.central.repo.engine, data.get("kind", ""), data.get("target", ""),
                                  action[:500], current_user(request).user_id, state.now())
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
def cases(request: Request[Any, Any, Any], q: str = "", submitter: str = "", date_from: str = "", date_to: str = "",
          point: str = "") -> Template:
    state = office(request)
    form = SearchForm(q.strip(), submitter.strip(), date_from, date_to, point)
    asked = any(form.__dict__.values())
    results = case_search.search(state.central.repo, **form.__dict__) if asked else None
    if asked:
        audit.record(state.central.repo.engine, actor=current_user(request).user_id, action="read", target="search",
                     query={k: v for k, v in form.__dict__.items() if v}, results=len(results or []))
    return page(request, "office/cases.html", form=form, results=results,
                appliances=state.central.repo.appliances(), quote=quote)


@get("/cases/{case_number:str}", guards=[logged_in], sync_to_thread=True)
def case_page(request: Request[Any, Any, Any], case_number: str) -> Template:
    state = office(request)
    (dossier,) = load_dossiers(state.central.repo, case=case_number)
    audit.record(state.central.repo.engine, actor=current_user(request).user_id, action="read", target=dossier.case_number,
                 what="dossier")
    details = case_search.case_details(state.central.repo, dossier)
    return page(request, "office/case.html", dossier=dossier, details=details)


@get("/items/{item_id:str}/document", guards=[logged_in], sync_to_thread=True)
def document(request: Request[Any, Any, Any], item_id: str) -> Response[bytes]:
    state = office(request)
    item = case_search.item_entry(state.central.repo, _id(item_id, Kind.ITEM))
    audit.record(state.central.repo.engine, actor=current_user(request).user_id, action="read", target=item.item_id,
                 what="document", pages=len(item.pages), key_use="hpke")
    pdf = item_pdf([page_master(state.central, p) for p in item.pages])
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
    audit.record(state.central.repo.engine, actor=current_user(request).user_id, action="read", target=ref.page_id,
                 what="page image", key_use="hpke")
    data = page_master(state.central, PageEntry(ref.page_id, 0, 0, "", ref.blob_sha256, ref.source_sha256, ref.blob_kind))
    media = {"jpg": "image/jpeg", "png": "image/png", "tif": "image/tiff", "pdf": "application/pdf"}.get(extension(data), "application/octet-stream")
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
    rows = [(rec, stored) for rec, stored in audit.records(engine)]
    broken = audit.verify_chain(engine)
    shown = [rec for rec, _ in rows if _matches(rec, actor, action, case)]
    audit.record(engine, actor=current_user(request).user_id, action="read", target="audit",
                 filters={"actor": actor, "action": action, "case": case})
    return page(request, "office/audit.html", records=list(reversed(shown))[:500], total=len(rows), broken=broken,
                filters={"actor": actor, "action": action, "case": case}, actions=sorted({r.action for r, _ in rows}))


def _matches(rec: Any, actor: str, action: str, case: str) -> bool:
    return ((not actor or actor in rec.actor) and (not action or rec.action == action)
            and (not case or case in rec.target or case in str(rec.detail)))


HANDLERS = [login_form, login, logout, index, exceptions, resolve_exception, cases, case_page, document, page_image, audit_view]
