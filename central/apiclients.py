"""API clients of central (the court's case system): per-client tokens, stored hashed.

`central api-client add NAME` creates a client and prints its token once; only
the token's SHA-256 is stored (a 256-bit random token needs no slow hash: it
cannot be guessed, only stolen, and then a hash of any speed is the same).
`central api-client revoke NAME` ends it. A request authenticates with
`Authorization: Bearer <token>`; every authenticated read is audited with the
client's id. Transport stays mutual TLS: `--csr` issues the client's TLS
certificate from the court CA (as `central enroll` does for appliances).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from juanzong.central import audit, db
from juanzong.central.repository import Repository
from juanzong.shared import crypto
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id

TOKEN_PREFIX = "jzk_"


@dataclass(frozen=True)
class ApiClient:
    client_id: str
    name: str
    created_at: str
    revoked_at: str | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def add_client(repo: Repository, name: str) -> tuple[ApiClient, str]:
    """A new client and its token (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(new_id(Kind.API_CLIENT), name, _now(), None)
    try:
        with db.writer(repo.engine).begin() as conn:
            conn.execute(insert(db.api_clients).values(client_id=client.client_id, name=name,
                                                        token_sha256=crypto.sha256_hex(token.encode("ascii")),
                                                        created_at=client.created_at))
            audit.append(conn, actor="archive office", action="api_client_add", target=client.client_id, name=name)
    except IntegrityError as exc:
        raise AppError(ErrorCode.API_CLIENT_EXISTS, name=name) from exc
    return client, token


def revoke_client(repo: Repository, name: str) -> None:
    with db.writer(repo.engine).begin() as conn:
        done = conn.execute(update(db.api_clients).where(db.api_clients.c.name == name, db.api_clients.c.revoked_at.is_(None))
                            .values(revoked_at=_now())).rowcount
        if not done:
            raise AppError(ErrorCode.API_TOKEN_INVALID)
        audit.append(conn, actor="archive office", action="api_client_revoke", target=name)


def clients(repo: Repository) -> list[ApiClient]:
    t = db.api_clients
    with repo.engine.connect() as conn:
        rows = conn.execute(select(t.c.client_id, t.c.name, t.c.created_at, t.c.revoked_at).order_by(t.c.name)).all()
    return [ApiClient(*r) for r in rows]


def authenticate(repo: Repository, authorization: str | None) -> ApiClient:
    """The client a `Bearer` token belongs to, or AppError(API_TOKEN_INVALID), audited."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    digest = crypto.sha256_hex(token.encode("utf-8", "replace")) if token.startswith(TOKEN_PREFIX) else ""
    t = db.api_clients
    row = None
    if digest:
        with repo.engine.connect() as conn:
            row = conn.execute(select(t.c.client_id, t.c.name, t.c.created_at, t.c.revoked_at, t.c.token_sha256)
                               .where(t.c.token_sha256 == digest)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_sha256, digest):
        audit.record(repo.engine, actor="unknown client", action="api_auth", target="-", outcome="refused",
                     code=str(ErrorCode.API_TOKEN_INVALID))
        raise AppError(ErrorCode.API_TOKEN_INVALID)
    return ApiClient(row.client_id, row.name, row.created_at, row.revoked_at)
