"""Kiosk operators: who may log in at the appliance, with which role, and the PIN rules.

- Roles: counter clerk (窗口收件员), scanning operator (扫描员), supervisor (主管). Archive
  staff log in at central, not here.
- PINs are 6–12 digits, stored only as argon2id hashes (argon2-cffi's defaults).
- 5 wrong PINs in a row lock the operator for 5 minutes; the lock, every refusal and
  every login are audited. An unknown id and a wrong PIN get the same message.
- Which role may do what is `PERMISSIONS`, defined once; the kiosk's navigation and its
  request checks both read it, so a clerk sees only clerk actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.repo import operators as repo
from juanzong.edge.repo import write_tx
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.errors import AppError, ErrorCode

MAX_FAILURES = 5
LOCK_MINUTES = 5
_PIN_RE = re.compile(r"[0-9]{6,12}")
_ID_RE = re.compile(r"[A-Za-z0-9]{2,16}")
_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


class Role(StrEnum):
    CLERK = "clerk"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"


ROLE_NAMES = {Role.CLERK: "窗口收件员", Role.OPERATOR: "扫描员", Role.SUPERVISOR: "主管"}


class Permission(StrEnum):
    DASHBOARD = "dashboard"
    INTAKE = "intake"  # register handovers, print receipts and cover sheets
    CUSTODY = "custody"  # submit / transfer / borrow / return register
    PICKUP = "pickup"  # served documents: register and hand over
    SCAN = "scan"  # the scanning operator's screens (QC station)
    OPERATORS = "operators"  # see operators


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset({Permission.DASHBOARD, Permission.INTAKE, Permission.CUSTODY, Permission.PICKUP}),
    Role.OPERATOR: frozenset({Permission.DASHBOARD, Permission.SCAN}),
    Role.SUPERVISOR: frozenset(Permission),
}


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    role: Role
    disabled: bool = False

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]

    def may(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "role": str(self.role), "role_name": self.role_name, "disabled": self.disabled}


def _operator(row: repo.OperatorRow) -> Operator:
    return Operator(row.id, row.name, Role(row.role), row.disabled_at is not None)


def check_pin(pin: str) -> str:
    if not isinstance(pin, str) or not _PIN_RE.fullmatch(pin.strip()):
        raise AppError(ErrorCode.OPERATOR_PIN_WEAK)
    return pin.strip()


def add(db: Database, place: str, *, operator_id: str, name: str, role: str, pin: str, now: datetime, actor: str = "admin") -> Operator:
    if not _ID_RE.fullmatch(operator_id or ""):
        raise AppError(ErrorCode.OPERATOR_ID_INVALID, text=operator_id)
    if not name.strip():
        raise AppError(ErrorCode.OPERATOR_NAME_REQUIRED)
    if role not in set(Role):
        raise AppError(ErrorCode.OPERATOR_ROLE_INVALID, role=role)
    pin_hash = _HASHER.hash(check_pin(pin))
    with write_tx(db):
        if repo.get(db, operator_id) is not None:
            raise AppError(ErrorCode.OPERATOR_EXISTS, operator_id=operator_id)
        repo.insert(db, repo.OperatorRow(operator_id, name.strip(), role, pin_hash, None, 0, None, now.isoformat()))
        audit.record(db, place=place, actor=actor, action=Action.OPERATOR_ADD, target=operator_id, role=role)
    return Operator(operator_id, name.strip(), Role(role))


def disable(db: Database, place: str, operator_id: str, now: datetime, actor: str = "admin") -> Operator:
    with write_tx(db):
        row = repo.get(db, operator_id)
        if row is None:
            raise AppError(ErrorCode.OPERATOR_NOT_FOUND, operator_id=operator_id)
        repo.set_disabled(db, operator_id, now.isoformat())
        repo.end_sessions_of(db, operator_id, now.isoformat(), "disabled")
        audit.record(db, place=place, actor=actor, action=Action.OPERATOR_DISABLE, target=operator_id)
    return Operator(row.id, row.name, Role(row.role), True)


def list_all(db: Database) -> list[Operator]:
    return [_operator(r) for r in repo.all_rows(db)]


def get(db: Database, operator_id: str) -> Operator | None:
    row = repo.get(db, operator_id)
    return _operator(row) if row else None


def authenticate(db: Database, place: str, operator_id: str, pin: str, now: datetime) -> Operator:
    """The operator for a correct PIN; LOGIN_FAILED / LOGIN_LOCKED otherwise (all audited).

    The refusal's audit rows commit before the error is raised: the refusal is the record."""
    operator_id = (operator_id or "").strip()
    with write_tx(db):
        outcome = _attempt(db, place, operator_id, pin, now)
    if isinstance(outcome, AppError):
        raise outcome
    return outcome


def _attempt(db: Database, place: str, operator_id: str, pin: str, now: datetime) -> Operator | AppError:
    row = repo.get(db, operator_id)
    if row is None or row.disabled_at is not None:
        audit.record(
            db,
            place=place,
            actor=operator_id or "-",
            action=Action.LOGIN,
            target=operator_id or "-",
            outcome=Outcome.REFUSED,
            reason="unknown" if row is None else "disabled",
        )
        return AppError(ErrorCode.LOGIN_FAILED)
    if row.locked_until and datetime.fromisoformat(row.locked_until) > now:
        audit.record(db, place=place, actor=row.id, action=Action.LOGIN, target=row.id, outcome=Outcome.REFUSED, reason="locked")
        return AppError(ErrorCode.LOGIN_LOCKED, until=_hhmm(datetime.fromisoformat(row.locked_until)))
    if not _verify(row.pin_hash, pin):
        return _count_failure(db, place, row, now)
    repo.set_failures(db, row.id, 0, None)
    if _HASHER.check_needs_rehash(row.pin_hash):
        repo.set_pin_hash(db, row.id, _HASHER.hash(pin))
    audit.record(db, place=place, actor=row.id, action=Action.LOGIN, target=row.id, role=row.role)
    return _operator(row)


def _verify(pin_hash: str, pin: str) -> bool:
    try:
        return _HASHER.verify(pin_hash, pin or "")
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(db: Database, place: str, row: repo.OperatorRow, now: datetime) -> AppError:
    failures = row.failures + 1
    locked = now + timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
    repo.set_failures(db, row.id, 0 if locked else failures, locked.isoformat() if locked else None)
    audit.record(
        db, place=place, actor=row.id, action=Action.LOGIN, target=row.id, outcome=Outcome.REFUSED, reason="wrong_pin", failures=failures
    )
    if locked is None:
        return AppError(ErrorCode.LOGIN_FAILED)
    audit.record(
        db,
        place=place,
        actor=row.id,
        action=Action.LOGIN_LOCKED,
        target=row.id,
        outcome=Outcome.REFUSED,
        until=locked.isoformat(),
        minutes=LOCK_MINUTES,
    )
    return AppError(ErrorCode.LOGIN_LOCKED, until=_hhmm(locked))


def _hhmm(moment: datetime) -> str:
    return moment.strftime("%H:%M")
