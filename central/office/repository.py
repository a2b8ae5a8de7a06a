"""SQL for the archive office's own tables (users, sessions, tokens, sampling, checks, exception actions).

Dossier data (intakes, items, pages, batches, audit) is read through
`central.repository.Repository` and `central.export.model`; this class holds
only what the office pages write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from juanzong.central import db
from juanzong.central.db import writer


@dataclass(frozen=True)
class UserRow:
    user_id: str
    name: str
    role: str
    password_hash: str
    disabled_at: str | None
    failures: int
    locked_until: str | None
    created_at: str


class OfficeRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = writer(engine)

    # --- users ---------------------------------------------------------------------------------

    def user(self, user_id: str) -> UserRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.office_users).where(db.office_users.c.user_id == user_id)).first()
        return UserRow(**row._mapping) if row else None

    def users(self) -> list[UserRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.office_users).order_by(db.office_users.c.user_id)).all()
        return [UserRow(**r._mapping) for r in rows]

    def add_user(self, row: UserRow) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(db.office_users).values(**row.__dict__))

    def update_user(self, user_id: str, **values: Any) -> None:
        with self._writer.begin() as conn:
            conn.execute(update(db.office_users).where(db.office_users.c.user_id == user_id).values(**values))

    # --- sessions and tokens ---------------------------------------------------------------------

    def add_session(self, token_sha256: str, user_id: str, at: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(db.office_sessions).values(token_sha256=token_sha256, user_id=user_id, created_at=at, last_seen=at))

    def session(self, token_sha256: str) -> dict[str, Any] | None:
        t = db.office_sessions
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.token_sha256 == token_sha256, t.c.ended_at.is_(None))).first()
        return dict(row._mapping) if row else None

    def touch_session(self, token_sha256: str, at: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(update(db.office_sessions).where(db.office_sessions.c.token_sha256 == token_sha256).values(last_seen=at))

    def end_session(self, token_sha256: str, at: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(update(db.office_sessions).where(db.office_sessions.c.token_sha256 == token_sha256).values(ended_at=at))

    def add_token(self, token_sha256: str, user_id: str, at: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(db.office_tokens).values(token_sha256=token_sha256, user_id=user_id, created_at=at))

    def token_user(self, token_sha256: str) -> str | None:
        t = db.office_tokens
        with self.engine.connect() as conn:
            return conn.execute(select(t.c.user_id).where(t.c.token_sha256 == token_sha256, t.c.revoked_at.is_(None))).scalar()

    # --- exception actions -------------------------------------------------------------------------

    def add_exception_action(self, kind: str, target: str, action: str, user_id: str, at: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(db.exception_actions).values(kind=kind, target=target, action=action, user_id=user_id, at=at))

    def exception_actions(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The latest action per (kind, target)."""
        t = db.exception_actions
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.id)).all()
        return {(r.kind, r.target): dict(r._mapping) for r in rows}

    # --- sampling --------------------------------------------------------------------------------

    def add_round(self, round_row: dict[str, Any], items: list[dict[str, Any]]) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(db.sampling_rounds).values(**round_row))
            if items:
                conn.execute(insert(db.sampling_items), items)

    def rounds(self) -> list[dict[str, Any]]:
        t = db.sampling_rounds
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.drawn_at.desc()))]

    def round(self, round_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        r, i = db.sampling_rounds, db.sampling_items
        with self.engine.connect() as conn:
            head = conn.execute(select(r).where(r.c.round_id == round_id)).first()
            rows = conn.execute(select(i).where(i.c.round_id == round_id).order_by(i.c.category, i.c.item_id)).all()
        if head is None:
            return None
        return dict(head._mapping), [{**dict(x._mapping), "defects": json.loads(x.defects)} for x in rows]

    def set_verdict(self, round_id: str, item_id: str, **values: Any) -> None:
        i = db.sampling_items
        with self._writer.begin() as conn:
            conn.execute(update(i).where(i.c.round_id == round_id, i.c.item_id == item_id).values(**values))

    def sign_off(self, round_id: str, user_id: str, at: str) -> None:
        r = db.sampling_rounds
        with self._writer.begin() as conn:
            conn.execute(update(r).where(r.c.round_id == round_id).values(signed_off_by=user_id, signed_off_at=at))

    # --- four-property checks ----------------------------------------------------------------------

    def add_check(self, row: dict[str, Any]) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(db.property_checks).values(**row))

    def checks(self, batch_id: str | None = None) -> list[dict[str, Any]]:
        t = db.property_checks
        query = select(t).order_by(t.c.run_at.desc())
        if batch_id:
            query = query.where(t.c.batch_id == batch_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def check(self, check_id: str) -> dict[str, Any] | None:
        t = db.property_checks
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.check_id == check_id)).first()
        return dict(row._mapping) if row else None
