"""HTTP surface of receiving: thin handlers over `ReceiveService`.

The blocking work (blob writes fsync, the database commits synchronously) runs
in the thread pool, never on the event loop.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import IO, Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, head, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_404_NOT_FOUND

from juanzong.central.api_errors import error_responses
from juanzong.central.receive.services import ReceiveService
from juanzong.central.tlsserve import tls_identity
from juanzong.shared.manifest import Signed

SPOOL_BYTES = 8 * 1024 * 1024  # an upload larger than this is spooled to a temp file, not held in memory


@dataclass(frozen=True)
class SignedWire:
    """A signed document as it travels: canonical JSON text and its Ed25519 signature (base64)."""

    body: str
    signature: str


class BlobController(Controller):
    path = "/api/blobs"
    tags = ["sync"]

    @head("/{sha256:str}", sync_to_thread=True, responses={404: ResponseSpec(data_container=None, description="未存储，设备需要上传")})
    def head_blob(self, sha256: FromPath[str], receiver: NamedDependency[ReceiveService]) -> Response[None]:
        """200 if a blob with this SHA-256 is stored, 404 if not (the appliance skips what is here)."""
        return Response(None, status_code=HTTP_200_OK if receiver.has_blob(sha256) else HTTP_404_NOT_FOUND)

    @put(
        "/{sha256:str}",
        status_code=HTTP_201_CREATED,
        responses={
            200: ResponseSpec(data_container=dict[str, bool], description="已存储过（重放）"),
            **error_responses(400, 403, 413, 422),
        },
    )
    async def put_blob(
        self,
        sha256: FromPath[str],
        request: Request[Any, Any, Any],
        receiver: NamedDependency[ReceiveService],
        appliance_id: Annotated[str | None, HeaderParameter(name="X-Appliance-Id")] = None,
    ) -> Response[dict[str, bool]]:
        """Store one encrypted page (raw bytes, any content type) under its SHA-256; 201 if new, 200 if stored."""
        body, size = await spool_body(request)  # raw: never let a content type make the framework parse ciphertext
        try:
            created = await anyio.to_thread.run_sync(receiver.put_blob, appliance_id, sha256, body, size, tls_identity(request.scope))
        finally:
            body.close()
        return Response({"stored": created}, status_code=HTTP_201_CREATED if created else HTTP_200_OK)


async def spool_body(request: Request[Any, Any, Any]) -> tuple[IO[bytes], int]:
    """The request body, streamed into a spooled temp file (memory up to SPOOL_BYTES, then disk)."""
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    size = 0
    try:
        async for chunk in request.stream():  # the route's body-size limit is enforced while streaming
            body.write(chunk)
            size += len(chunk)
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return body, size


class ManifestController(Controller):
    path = "/api/manifests"
    tags = ["sync"]

    @post(
        "/",
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
        responses={
            200: ResponseSpec(data_container=dict[str, dict[str, str]], description="重放：原回执"),
            **error_responses(400, 403, 409, 413),
        },
    )
    def post_manifest(
        self, data: JSONBody[SignedWire], request: Request[Any, Any, Any], receiver: NamedDependency[ReceiveService]
    ) -> Response[dict[str, dict[str, str]]]:
        """Verify and store a signed batch manifest; answer with central's signed receipt.

        201 for a new batch, 200 with the stored receipt for a replay.
        """
        receipt = receiver.receive_manifest(Signed(data.body.encode("utf-8"), data.signature), tls_identity(request.scope))
        status = HTTP_201_CREATED if receipt.created else HTTP_200_OK
        return Response({"receipt": receipt.signed.to_wire()}, status_code=status)
