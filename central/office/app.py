"""`create_office_app(settings)`: the archive office's pages, a second listener beside sync.

Server-rendered (Litestar + Jinja), zh-CN, no JavaScript needed. The screens
are listed once in `SCREENS` (the navigation follows it). Every request but
the login page needs a session (`logged_in` guard); acting and the audit view
need their roles. CSRF is Litestar's double-submit cookie on every form; the
session cookie is HttpOnly, SameSite=Strict and Secure when served over TLS.
A failure becomes a Chinese page with its stable code, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from juanzong.central.config import CentralSettings
from juanzong.central.home import Central, open_central
from juanzong.central.office import formatting
from juanzong.central.office.repository import OfficeRepository
from juanzong.central.office.tasks import Tasks
from juanzong.central.office.users import User, session_user
from juanzong.shared import clock as shared_clock
from juanzong.shared.durable import write_durable
from juanzong.shared.errors import AppError, ErrorCode

log = logging.getLogger("juanzong.central.office")
HERE = Path(__file__).parent
SESSION_COOKIE = "jz_office"
CSRF_SECRET_FILE = "office-csrf.key"


@dataclass(frozen=True)
class Screen:
    path: str
    label: str
    needs: str  # "view" | "act" | "audit"


SCREENS: tuple[Screen, ...] = (
    Screen("/", "总览", "view"),
    Screen("/batches", "批次对账", "view"),
    Screen("/exceptions", "异常待办", "view"),
    Screen("/cases", "查找案件", "view"),
    Screen("/sampling", "抽检", "view"),
    Screen("/checks", "四性检测", "view"),
    Screen("/exports", "导出与备份", "act"),
    Screen("/audit", "审计日志", "audit"),
)


@dataclass
class OfficeState:
    """What every handler works with; built once per app from the settings."""

    central: Central
    repo: OfficeRepository
    clock: Callable[[], datetime]
    idle: timedelta
    secure: bool
    tasks: Tasks  # exports and backups started from the pages, run in the background

    def now(self) -> datetime:
        return self.clock()


def office(connection: ASGIConnection[Any, Any, Any, Any]) -> OfficeState:
    return connection.app.state.office


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    return connection.state.user


def logged_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    state = office(connection)
    user = session_user(state.repo, state.central.repo.engine, connection.cookies.get(SESSION_COOKIE), state.now(), state.idle)
    if user is None:
        raise NotAuthorizedException(detail=connection.url.path)
    connection.state.user = user


def may_act(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    logged_in(connection, handler)
    if not current_user(connection).can_act:
        raise PermissionDeniedException(detail="act")


def may_audit(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    logged_in(connection, handler)
    if not current_user(connection).can_audit:
        raise PermissionDeniedException(detail="audit")


def page(request: Request[Any, Any, Any], name: str, status: int = 200, **context: Any) -> Template:
    user = getattr(request.state, "user", None)
    nav = [s for s in SCREENS if user is not None and _allowed(user, s.needs)]
    return Template(
        template_name=name,
        status_code=status,
        context={"user": user, "nav": nav, "path": request.url.path, "now": office(request).now(), **context},
    )


def _allowed(user: User, needs: str) -> bool:
    return needs == "view" or (needs == "act" and user.can_act) or (needs == "audit" and user.can_audit)


# --- failures as pages -------------------------------------------------------------------------


def _failure(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if request.url.path.startswith("/api/"):
        return _api_failure(request, exc)
    if isinstance(exc, NotAuthorizedException):
        return Redirect(path=f"/login?next={request.url.path}", status_code=303)
    if isinstance(exc, AppError):
        err, status = exc, exc.http_status
    elif isinstance(exc, PermissionDeniedException):
        csrf = "CSRF" in str(exc.detail) or exc.detail not in ("act", "audit")
        err, status = AppError(ErrorCode.CSRF_INVALID if csrf else ErrorCode.ROLE_FORBIDDEN, role=_role(request)), 403
    elif isinstance(exc, NotFoundException):
        err, status = AppError(ErrorCode.REQUEST_INVALID, detail="没有这个页面"), 404
    elif isinstance(exc, HTTPException):
        err, status = AppError(ErrorCode.REQUEST_INVALID, detail=str(exc.detail)), exc.status_code
    else:
        log.exception("office page failed: %s %s", request.method, request.url.path)
        err, status = AppError(ErrorCode.OFFICE_INTERNAL), 500
    log.info("office %s %s -> %d %s", request.method, request.url.path, status, err.code)
    return page(request, "office/error.html", status=status, error=err)


def _api_failure(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The case-system API answers `{error, message, params}` like the sync API, never HTML."""
    if isinstance(exc, AppError):
        err = exc
        status = 401 if exc.code is ErrorCode.API_TOKEN_INVALID else exc.http_status
    else:
        if not isinstance(exc, HTTPException):
            log.exception("office api failed: %s %s", request.method, request.url.path)
        err = AppError(ErrorCode.REQUEST_INVALID, detail=str(getattr(exc, "detail", "")) or "内部错误")
        status = getattr(exc, "status_code", 500)
    return Response(err.to_dict(), status_code=status)


def _role(request: Request[Any, Any, Any]) -> str:
    user = getattr(request.state, "user", None)
    return user.role.label if user else "未登录"


# --- the app -------------------------------------------------------------------------------------


def csrf_secret(settings: CentralSettings) -> str:
    """One secret for every worker, kept with the keys (created on first use)."""
    path = settings.keys_dir / CSRF_SECRET_FILE
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another worker made it first
            write_durable(path, secrets.token_hex(32).encode("ascii"), mode=0o600)
    return path.read_text("ascii").strip()


def create_office_app(settings: CentralSettings, clock: Callable[[], datetime] | None = None, secure: bool | None = None) -> Litestar:
    from juanzong.central.office import views

    central = open_central(settings)
    state = OfficeState(
        central,
        OfficeRepository(central.repo.engine),
        clock or shared_clock.now,
        timedelta(minutes=settings.office_idle_minutes),
        settings.tls if secure is None else secure,
        Tasks(clock or shared_clock.now),
    )
    app = Litestar(
        route_handlers=[*views.HANDLERS, create_static_files_router(path="/static", directories=[HERE / "static"])],
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=formatting.register),
        csrf_config=CSRFConfig(
            secret=csrf_secret(settings),
            cookie_name="jz_csrf",
            cookie_secure=state.secure,
            cookie_samesite="strict",
            header_name="x-csrftoken",
            exclude=["/api/"],
        ),
        exception_handlers={Exception: _failure},
        on_shutdown=[central.close],
        openapi_config=None,
        debug=False,
    )
    app.state.office = state
    return app
