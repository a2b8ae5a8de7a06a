"""The case system's view of filing notices (入卷提醒), served by the office listener.

`GET /api/notices?since=ISO` with `Authorization: Bearer <token>` — the token of
a `case_system` account (`central user add --role case_system`, central/office/users.py)
— returns the notices central received at or after `since`, oldest first; the
read is audited under the account's id. The same token fetches an item's PDF at
`GET /api/documents/{item_id}`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import QueryParameter

from juanzong.central import documents
from juanzong.shared.errors import AppError, ErrorCode


def normalise_since(since: str | None) -> str | None:
    """Any ISO 8601 time → central's UTC form (naive times are taken as UTC)."""
    if not since:
        return None
    try:
        moment = datetime.fromisoformat(since)
    except ValueError as exc:
        raise AppError(ErrorCode.DATETIME_INVALID, text=since) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def case_system_user(request: Request[Any, Any, Any]) -> Any:
    from juanzong.central.office.app import office
    from juanzong.central.office.users import api_user

    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    user = api_user(office(request).repo, token)
    if user is None:
        raise AppError(ErrorCode.API_TOKEN_INVALID)
    return user


@get("/api/notices", sync_to_thread=True)
def api_notices(
    request: Request[Any, Any, Any],
    since: Annotated[str | None, QueryParameter(description="ISO time: notices received at or after it")] = None,
) -> dict[str, Any]:
    """入卷提醒: case number, item, catalog place, pages and time of every item filed as a searchable PDF."""
    from juanzong.central.office.app import office

    user = case_system_user(request)
    found = documents.notices(office(request).central, normalise_since(since), actor=user.user_id)
    return {"notices": found, "count": len(found)}
