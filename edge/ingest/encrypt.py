"""Stage 5, encrypt: the page image sealed under a fresh data key (see shared.crypto).

After this stage the plaintext bytes are dropped from the page value, so
nothing downstream can write them anywhere.
"""

from __future__ import annotations

from dataclasses import replace

from juanzong.edge.crashpoints import crash_point
from juanzong.edge.ingest.context import IngestContext, Page, PageRole
from juanzong.shared.crypto import seal_blob
from juanzong.shared.manifest import BlobKind

BLOB_KIND = {
    PageRole.PAGE: BlobKind.PAGE,
    PageRole.COVER: BlobKind.COVER,
    PageRole.COVER_UNKNOWN: BlobKind.COVER,
    PageRole.COVER_BACK: BlobKind.COVER,
    PageRole.BLANK_DROPPED: BlobKind.PAGE,
}


def run(page: Page, ctx: IngestContext) -> Page:
    crash_point("encrypt")
    sealed = seal_blob(
        page.data,
        appliance_id=ctx.appliance_id,
        blob_id=page.page_id,
        kind=BLOB_KIND[page.role] if page.role else BlobKind.PAGE,
        kek=ctx.keys.kek,
        central_public=ctx.keys.central.hpke_public,
        plain_sha256=page.source_sha256,  # decode hashed exactly these bytes
        suite=ctx.suite,
    )
    return replace(page, sealed=sealed, data=b"")
