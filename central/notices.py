"""The case system's view: filing notices (入卷提醒) over an authenticated API.

`GET /api/notices?since=ISO` with `Authorization: Bearer <token>` (a client made
by `central api-client add`) returns the notices central received at or after
`since`, oldest first; the read is audited under the client's id.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter

from juanzong.central import documents
from juanzong.central.apiclients import authenticate
from juanzong.central.home import Central
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
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


class NoticeController(Controller):
    path = "/api/notices"
    tags = ["case system"]

    @get("/", sync_to_thread=True)
    def list_notices(
        self,
        central: NamedDependency[Central],
        authorization: Annotated[str | None, HeaderParameter(name="Authorization")] = None,
        since: Annotated[str | None, QueryParameter(description="ISO time: notices received at or after it")] = None,
    ) -> dict[str, Any]:
        """入卷提醒: case number, item, catalog place, pages and time of every item filed as a searchable PDF."""
        client = authenticate(central.repo, authorization)
        found = documents.notices(central, normalise_since(since), actor=f"api:{client.client_id}")
        return {"notices": found, "count": len(found)}
