"""People who log in at central: archive clerks, supervisors, auditors, and the case-system client.

Passwords are argon2id (argon2-cffi defaults, the OWASP recommendation); five
wrong passwords lock the account for five minutes; a session ends after
`office_idle_minutes` without a request. The cookie carries a random token, the
database only its SHA-256, so a copied database opens no session. The
case-system client has no password: it holds an API token (shown once).
Every login, lockout, logout and change is audited.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from juanzong.central import audit
from juanzong.central.office.repository import OfficeRepository, UserRow
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.errors import AppError, ErrorCode

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)
_ID = re.compile(r"[A-Za-z0-9_.-]{2,32}")
_hasher = PasswordHasher()


class Role(StrEnum):
    CLERK = "clerk"  # 档案员: reconcile, inspect, export
    SUPERVISOR = "supervisor"  # 档案室主管: also signs off samples
    AUDITOR = "auditor"  # 审计员: read-only plus the audit view
    CASE_SYSTEM = "case_system"  # 案件系统: API token for notices and documents

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {Role.CLERK: "档案员", Role.SUPERVISOR: "档案室主管", Role.AUDITOR: "审计员", Role.CASE_SYSTEM: "案件系统接口"}


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    role: Role

    @property
    def can_act(self) -> bool:
        return self.role in (Role.CLERK, Role.SUPERVISOR)

    @property
    def can_audit(self) -> bool:
        return self.role in (Role.AUDITOR, Role.SUPERVISOR)


def add_user(
    repo: OfficeRepository, engine, user_id: str, name: str, role: str, password: str | None, *, actor: str, now: datetime
) -> str | None:
    """Create a user; returns the API token for a case-system client (shown once), else None."""
    if not _ID.fullmatch(user_id):
        raise AppError(ErrorCode.OFFICE_USER_INVALID, detail="账号应为 2 至 32 位字母、数字或 _ . -")
    if not name.strip():
        raise AppError(ErrorCode.OFFICE_USER_INVALID, detail="请填写姓名")
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise AppError(ErrorCode.OFFICE_USER_INVALID, detail=f"角色应为 {', '.join(r.value for r in Role)}") from exc
    if repo.user(user_id) is not None:
        raise AppError(ErrorCode.OFFICE_USER_EXISTS, user_id=user_id)
    token = None
    if role_value is Role.CASE_SYSTEM:
        token = secrets.token_urlsafe(32)
        secret_hash = "!token"  # no password can ever match
    else:
        secret_hash = _hasher.hash(_checked_password(password))
    repo.add_user(UserRow(user_id, name.strip(), role_value.value, secret_hash, None, 0, None, now.isoformat()))
    if token:
        repo.add_token(sha256(token), user_id, now.isoformat())
    audit.record(engine, actor=actor, action=Action.USER_ADD, target=user_id, role=role_value.value)
    return token


def disable_user(repo: OfficeRepository, engine, user_id: str, *, actor: str, now: datetime) -> None:
    if repo.user(user_id) is None:
        raise AppError(ErrorCode.OFFICE_USER_NOT_FOUND, user_id=user_id)
    repo.update_user(user_id, disabled_at=now.isoformat())
    audit.record(engine, actor=actor, action=Action.USER_DISABLE, target=user_id)


def _checked_password(password: str | None) -> str:
    if not password or len(password) < 10 or password.isdigit() or password.isalpha():
        raise AppError(ErrorCode.OFFICE_PASSWORD_WEAK)
    return password


def authenticate(repo: OfficeRepository, engine, user_id: str, password: str, now: datetime, where: str) -> User:
    row = repo.user(user_id)
    if row is None or row.disabled_at or row.role == Role.CASE_SYSTEM:
        audit.record(engine, actor=user_id or "unknown", action=Action.LOGIN, target=where, outcome=Outcome.REFUSED)
        raise AppError(ErrorCode.LOGIN_FAILED)
    if row.locked_until and now < datetime.fromisoformat(row.locked_until):
        audit.record(engine, actor=user_id, action=Action.LOGIN, target=where, outcome=Outcome.REFUSED, reason="locked")
        raise AppError(ErrorCode.LOGIN_LOCKED, until=_hhmm(row.locked_until))
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return _failed(repo, engine, row, now, where)
    repo.update_user(user_id, failures=0, locked_until=None)
    audit.record(engine, actor=user_id, action=Action.LOGIN, target=where)
    return User(row.user_id, row.name, Role(row.role))


def _failed(repo: OfficeRepository, engine, row: UserRow, now: datetime, where: str) -> User:
    failures = row.failures + 1
    locked = (now + LOCKOUT).isoformat() if failures >= MAX_FAILURES else None
    repo.update_user(row.user_id, failures=0 if locked else failures, locked_until=locked)
    audit.record(
        engine,
        actor=row.user_id,
        action=Action.LOGIN,
        target=where,
        outcome=Outcome.REFUSED,
        reason="locked" if locked else "password",
        failures=failures,
    )
    if locked:
        raise AppError(ErrorCode.LOGIN_LOCKED, until=_hhmm(locked))
    raise AppError(ErrorCode.LOGIN_FAILED)


def _hhmm(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M")


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(repo: OfficeRepository, user: User, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    repo.add_session(sha256(token), user.user_id, now.isoformat())
    return token


def session_user(repo: OfficeRepository, engine, token: str | None, now: datetime, idle: timedelta) -> User | None:
    """The logged-in user for a cookie token, or None (also when idle too long: the session ends, audited)."""
    if not token:
        return None
    session = repo.session(sha256(token))
    if session is None:
        return None
    if now - datetime.fromisoformat(session["last_seen"]) > idle:
        repo.end_session(sha256(token), now.isoformat())
        audit.record(engine, actor=session["user_id"], action=Action.LOGOUT, target="office", reason="idle")
        return None
    row = repo.user(session["user_id"])
    if row is None or row.disabled_at:
        return None
    repo.touch_session(sha256(token), now.isoformat())
    return User(row.user_id, row.name, Role(row.role))


def end_session(repo: OfficeRepository, engine, token: str, user: User, now: datetime) -> None:
    repo.end_session(sha256(token), now.isoformat())
    audit.record(engine, actor=user.user_id, action=Action.LOGOUT, target="office")


def api_user(repo: OfficeRepository, token: str | None) -> User | None:
    """The case-system client presenting `Authorization: Bearer <token>`."""
    if not token:
        return None
    user_id = repo.token_user(sha256(token))
    row = repo.user(user_id) if user_id else None
    if row is None or row.disabled_at or row.role != Role.CASE_SYSTEM:
        return None
    return User(row.user_id, row.name, Role.CASE_SYSTEM)
