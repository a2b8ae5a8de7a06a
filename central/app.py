"""`create_app(settings)`: the Litestar application of the central server.

Wiring only: the routers (each with its own body-size limit), the objects
handlers receive by injection, the single error mapping and OpenAPI. Every
failure leaves as `AppError.to_dict()` — the framework's own HTTP errors
(unknown route, bad JSON, body too large) are folded into the same shape.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE

from juanzong.central import audit
from juanzong.central.config import CentralSettings
from juanzong.central.home import Central, open_central
from juanzong.central.receive.controllers import BlobController, ManifestController
from juanzong.central.receive.services import ReceiveService
from juanzong.central.reconcile.controllers import ReportController
from juanzong.central.tlsserve import tls_identity
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.errors import AppError, ErrorCode

log = logging.getLogger("juanzong.central.api")
SMALL_BODY = 64 * 1024  # health, report: nothing to upload


@get("/api/health", sync_to_thread=False, tags=["system"])
def health(central: NamedDependency[Central]) -> Response[dict[str, str]]:
    """Liveness and which central this is; the `X-Worker` header names the process that answered."""
    return Response({"status": "ok", "central_id": central.central_id}, headers={"X-Worker": str(os.getpid())})


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The one mapping from failures to HTTP (litestar-fullstack `exception_to_http_response`).

    Every refusal leaves with `{error, message, params}`, a log line and an audit row
    (services audit their own refusals with the verified sender; the rest is audited here).
    An unexpected exception is a 500 in the same shape, logged with its traceback."""
    if isinstance(exc, AppError):
        err, status = exc, exc.http_status
    elif isinstance(exc, HTTPException) and exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        err, status = _too_large(request), exc.status_code
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        err = AppError(ErrorCode.REQUEST_INVALID, detail=_detail(exc))
    elif isinstance(exc, RecursionError):  # a body nested deeper than any decoder will follow
        status, err = 400, AppError(ErrorCode.REQUEST_INVALID, detail="JSON 嵌套层数过深")
    else:
        log.exception("%s %s failed", request.method, request.url.path)
        status, err = 500, AppError(ErrorCode.INTERNAL_ERROR, detail=type(exc).__name__)
    log.info("%s %s -> %d %s %s", request.method, request.url.path, status, err.code, err.params)
    if not getattr(exc, "audited", False) and status != 404:
        _audit_refusal(request, status, err)
    allow = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("allow") if isinstance(exc, HTTPException) else None
    headers = {"Allow": allow} if allow else None
    return Response(err.to_dict(), status_code=status, headers=headers)


def _detail(exc: HTTPException) -> str:
    detail = str(getattr(exc, "detail", "") or type(exc).__name__)
    extra = getattr(exc, "extra", None)
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):  # validation: which field, why
        detail += "：" + "; ".join(f"{e.get('key', '')} {e.get('message', '')}".strip() for e in extra[:3])
    return detail[:300]


def _audit_refusal(request: Request[Any, Any, Any], status: int, err: AppError) -> None:
    central: Central | None = request.app.state.get("central")
    if central is None:
        return
    try:
        audit.record(
            central.repo.engine,
            actor=tls_identity(request.scope) or "unverified",
            action=Action.REQUEST,
            target=f"{request.method} {request.url.path}"[:200],
            outcome=Outcome.REFUSED if status < 500 else Outcome.FAILED,
            code=str(err.code),
            status=status,
        )
    except Exception:  # noqa: BLE001 - the answer must still go out; the log has the failure
        log.exception("could not audit a refused request")


def _too_large(request: Request[Any, Any, Any]) -> AppError:
    limit = request.route_handler.resolve_request_max_body_size()
    code = ErrorCode.BLOB_TOO_LARGE if request.url.path.startswith("/api/blobs") else ErrorCode.REQUEST_TOO_LARGE
    return AppError(code, limit=limit)


def create_app(settings: CentralSettings) -> Litestar:
    central = open_central(settings)
    receiver = ReceiveService(central)
    return Litestar(
        route_handlers=[
            health,
            Router("/", route_handlers=[BlobController], request_max_body_size=settings.max_blob_bytes),
            Router("/", route_handlers=[ManifestController], request_max_body_size=settings.max_manifest_bytes),
            ReportController,
        ],
        dependencies={
            "central": Provide(lambda: central, use_cache=True, sync_to_thread=False),
            "receiver": Provide(lambda: receiver, use_cache=True, sync_to_thread=False),
        },
        exception_handlers={AppError: error_response, HTTPException: error_response, Exception: error_response},
        state=State({"central": central}),
        openapi_config=OpenAPIConfig(title="卷宗 central", version="1", path="/schema"),
        request_max_body_size=SMALL_BODY,
        on_shutdown=[central.close],
    )
