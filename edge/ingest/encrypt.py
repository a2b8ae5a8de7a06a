"""Stage 5, encrypt: the page image sealed under a fresh data key (see shared.crypto).

After this stage the plaintext bytes are dropped from the page value, so
nothing downstream can write them anywhere.
"""

from __future__ import annotations

from dataclasses import replace

from juanzong.edge.crashpoints import crash_point
from juanzong.edge.ingest.context import IngestContext, Page
from juanzong.shared.crypto import seal_blob

BLOB_KIND = {"page": "page", "cover": "cover", "cover_unknown": "cover", "cover_back": "cover", "blank_dropped": "page"}


def run(page: Page, ctx: IngestContext) -> Page:
    crash_point("encrypt")
    sealed = seal_blob(
        page.data,
        appliance_id=ctx.appliance_id,
        blob_id=page.page_id,
        kind=BLOB_KIND[page.role],
        kek=ctx.keys.kek,
        central_public=ctx.keys.central.hpke_public,
        plain_sha256=page.source_sha256,  # decode hashed exactly these bytes
        suite=ctx.suite,
    )
    return replace(page, sealed=sealed, data=b"")
