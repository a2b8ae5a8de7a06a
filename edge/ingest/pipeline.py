"""The per-page stages, listed once, in order (see edge.ingest for the whole flow)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import replace

from juanzong.edge import filelog
from juanzong.edge.ingest import barcode, encrypt, qc, route
from juanzong.edge.ingest.context import IngestContext, Page

log = logging.getLogger("juanzong.ingest")

PAGE_STAGES = (barcode.run, route.run, qc.run, encrypt.run)


def ingest_pages(pages: Iterable[Page], ctx: IngestContext) -> tuple[Page, ...]:
    """Each page through every stage as decode produces it; only the sealed page is
    kept (its analysis image is dropped), so a long file holds one decoded page at a time."""
    ctx = replace(ctx, view=route.FileRouting(ctx.view))
    done = []
    for page in pages:
        done.append(replace(_through_stages(page, ctx), half=None))
        filelog.progress(page.claimed.source_name, len(done))
    return tuple(done)


def _through_stages(page: Page, ctx: IngestContext) -> Page:
    for stage in PAGE_STAGES:
        started = time.perf_counter()
        page = stage(page, ctx)
        log.debug("stage %s %s %.1f ms", stage.__module__.rsplit(".", 1)[-1], page.page_id, (time.perf_counter() - started) * 1000)
    return page
