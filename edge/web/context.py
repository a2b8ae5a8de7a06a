"""What every kiosk request gets: database, clock, operator, CSRF, idle logout, audit, errors.

- Database: one connection per request (`db()`), closed at teardown; nothing shares a
  connection across waitress's threads.
- Clock: `now()` is the injected clock (tests and screenshots never depend on today).
- Session: the signed cookie carries a random session id and the CSRF token only; the
  server-side row (`kiosk_sessions`) is the truth, so logout and idle logout really end it.
  Cookies are HttpOnly and SameSite=Strict, and Secure when the kiosk is served over TLS
  (`kiosk_tls = true` behind a TLS terminator, or any request that arrives as https).
- CSRF: every POST must carry the session's token (`{{ csrf_field() }}` in every form).
- Idle logout: a session unused for `kiosk_idle_minutes` is ended on its next request
  (audited) and the operator is sent to the login page; pages also reload themselves
  after that long (meta refresh, or kiosk.js which resets on input) so a walked-away
  screen does not keep showing a party's details.
- Errors: an `AppError` becomes its Chinese message on a page (no traceback, ever).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from sqlite_utils import Database
from werkzeug.exceptions import HTTPException

from juanzong.edge import audit, operators, repo
from juanzong.edge.config import EdgeSettings
from juanzong.edge.keys import load_kek
from juanzong.edge.operators import Operator, Permission
from juanzong.edge.repo import operators as sessions
from juanzong.edge.repo import write_tx
from juanzong.edge.vault import Vault
from juanzong.shared import clock
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.errors import AppError, ErrorCode

if TYPE_CHECKING:
    from juanzong.edge.web import Screen

log = logging.getLogger("juanzong.kiosk")
TZ = ZoneInfo("Asia/Shanghai")
MAX_UPLOAD = 2 * 1024 * 1024  # a form with two drawn signatures stays far below


@dataclass(frozen=True)
class Kiosk:
    settings: EdgeSettings
    clock: Callable[[], datetime]
    vault: Vault
    screens: tuple[Screen, ...]

    def now(self) -> datetime:
        return self.clock().astimezone(TZ)


def kiosk() -> Kiosk:
    return current_app.extensions["juanzong"]


def settings() -> EdgeSettings:
    return kiosk().settings


def now() -> datetime:
    return kiosk().now()


def db() -> Database:
    if "db" not in g:
        g.db = repo.connect(settings())  # this request's own connection, closed at teardown
    return g.db


def operator() -> Operator | None:
    return g.get("operator")


def actor() -> str:
    op = operator()
    return op.id if op else "-"


def record(action: Action, target: str, outcome: Outcome = Outcome.OK, **detail: Any) -> None:
    """Audit one kiosk action with the logged-in operator."""
    audit.record(db(), place=settings().appliance_id, actor=actor(), action=action, target=target, outcome=outcome, **detail)


def _system_clock() -> datetime:
    return clock.now(TZ)


class _Sessions(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _secret(kek: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"juanzong/kiosk-session/v1").derive(kek)


def install(app: Flask, cfg: EdgeSettings, clock: Callable[[], datetime] | None, screens: Sequence[Screen]) -> None:
    kek = load_kek(cfg.keys_dir)
    app.config.update(
        SECRET_KEY=_secret(kek),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=cfg.kiosk_tls,
        SESSION_COOKIE_NAME="juanzong_kiosk",
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.session_interface = _Sessions()
    app.extensions["juanzong"] = Kiosk(cfg, clock or _system_clock, Vault(kek), tuple(screens))
    repo.migrate(cfg)  # once at start-up
    app.before_request(_check_csrf)
    app.before_request(_load_operator)
    app.before_request(_check_permission)
    app.teardown_appcontext(_close_db)
    app.register_error_handler(AppError, _app_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    app.context_processor(_template_globals)
    from juanzong.edge.web import formatting

    formatting.install(app)


def _close_db(_exc: BaseException | None) -> None:
    database = g.pop("db", None)
    if database is not None:
        database.close()


# ---- CSRF


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf_token())


def _check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint == "static":
        return None
    sent, expected = request.form.get("csrf_token", ""), session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise AppError(ErrorCode.CSRF_INVALID)
    return None


# ---- the operator behind the request


def _load_operator() -> Any:
    sid = session.get("sid")
    if not sid or request.endpoint == "static":
        return None
    row = sessions.session(db(), sid)
    if row is None or row[2] is not None:
        session.pop("sid", None)
        return None
    operator_id, last_seen, _ = row
    idle = timedelta(minutes=settings().kiosk_idle_minutes)
    if now() - datetime.fromisoformat(last_seen) > idle:
        end_session(sid, operator_id, "idle")
        flash(AppError(ErrorCode.SESSION_IDLE).message, "warning")
        return None
    op = operators.get(db(), operator_id)
    if op is None or op.disabled:
        end_session(sid, operator_id, "disabled")
        return None
    if not getattr(current_app.view_functions.get(request.endpoint or ""), "passive", False):
        with write_tx(db()):  # a screen polling by itself (passive view) is not activity
            sessions.touch_session(db(), sid, now().isoformat())
    g.operator = op
    return None


def start_session(op: Operator) -> None:
    session.clear()
    sid = secrets.token_urlsafe(32)
    with write_tx(db()):
        sessions.open_session(db(), sid, op.id, now().isoformat())
    session["sid"] = sid
    session["csrf"] = secrets.token_urlsafe(32)  # a fresh token at every login
    g.operator = op


def end_session(sid: str, operator_id: str, reason: str) -> None:
    with write_tx(db()):
        sessions.end_session(db(), sid, now().isoformat(), reason)
        audit.record(db(), place=settings().appliance_id, actor=operator_id, action=Action.LOGOUT, target=operator_id, reason=reason)
    session.pop("sid", None)
    g.pop("operator", None)


def _screen_of(blueprint: str | None) -> Screen | None:
    return next((s for s in kiosk().screens if s.blueprint.name == blueprint), None)


def _check_permission() -> Any:
    if request.endpoint in (None, "static"):
        return None
    screen = _screen_of(request.blueprint)
    if screen is None or screen.permission is None:
        return None
    op = operator()
    if op is None:
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if not op.may(screen.permission):
        record(Action.ACCESS, request.path, outcome=Outcome.REFUSED, permission=str(screen.permission))
        raise AppError(ErrorCode.ROLE_FORBIDDEN, role=op.role_name)
    return None


def require(permission: Permission) -> None:
    """For a single view inside a screen that needs more than the screen's permission."""
    op = operator()
    if op is None or not op.may(permission):
        raise AppError(ErrorCode.ROLE_FORBIDDEN, role=op.role_name if op else "未登录")


def nav_entries() -> list[tuple[str, str]]:
    op = operator()
    if op is None:
        return []
    return [entry for s in kiosk().screens if s.permission and op.may(s.permission) for entry in s.nav]


# ---- errors: a page in Chinese, never a traceback


def _app_error(err: AppError) -> Any:
    log.info("kiosk error code=%s params=%s", err.code, err.params)
    return render_template("error.html", message=err.message, code=str(err.code)), err.http_status


def _http_error(err: HTTPException) -> Any:
    messages = {404: "页面不存在", 405: "不支持此操作", 413: "提交的内容过大", 400: "请求无效"}
    return render_template("error.html", message=messages.get(err.code or 400, "请求无效"), code=str(err.code)), err.code


def _internal_error(err: Exception) -> Any:
    log.exception("kiosk internal error")
    return render_template("error.html", message="系统内部错误，已记录，请联系管理员", code="INTERNAL"), 500


def _template_globals() -> dict[str, Any]:
    cfg = settings()
    return {
        "csrf_field": csrf_field,
        "operator": operator(),
        "nav": nav_entries(),
        "court": cfg.court,
        "station": cfg.name,
        "idle_seconds": cfg.kiosk_idle_minutes * 60,
        "now": now(),
    }
