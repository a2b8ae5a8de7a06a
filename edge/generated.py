"""Pages the appliance makes itself (a signed 送达回证) become pages of a case like any scan.

The page goes through the same stages a scanned page does after routing — QC, encrypt,
record (durable blob, then one transaction that numbers it in its item) — so it is stored
encrypted, counted, batched and synced to central exactly like a scan. Routing is skipped
because the item is known; barcode reading is skipped because the page carries none of ours.
The plaintext JPEG exists only in memory.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path

from PIL import Image
from sqlite_utils import Database

from juanzong.edge.appliance import DbRoutingView
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.config import EdgeSettings
from juanzong.edge.devices.profiles import get_scanner
from juanzong.edge.ingest import encrypt, qc
from juanzong.edge.ingest.context import Claimed, IngestContext, Page, PageRole, QcRules, Side
from juanzong.edge.ingest.record import commit
from juanzong.edge.keys import load_keys
from juanzong.shared.ids import Kind, new_id

DPI = 300


def store_page(db: Database, settings: EdgeSettings, item_id: str, image: Image.Image, source_name: str) -> str:
    """Store a grey page image (300 dpi) as the next page of `item_id`; returns the page id."""
    profile = get_scanner(settings.scanner_profile)
    ctx = IngestContext(
        appliance_id=settings.appliance_id,
        profile=profile,
        keys=load_keys(settings.keys_dir),
        qc_rules=QcRules(min_dpi=profile.dpi),
        max_pixels=profile.max_pixels,
        view=DbRoutingView(db),
    )
    grey = image.convert("L")
    buf = io.BytesIO()
    grey.save(buf, "JPEG", quality=90, dpi=(DPI, DPI))
    data = buf.getvalue()
    page_id = new_id(Kind.PAGE)
    page = Page(
        claimed=Claimed(claim=f"generated-{page_id}", path=Path(source_name), source_name=source_name),
        index=0,
        data=data,
        source_sha256=hashlib.sha256(data).hexdigest(),
        source_size=len(data),
        fmt="jpeg",
        width=grey.width,
        height=grey.height,
        dpi=DPI,
        mode="L",
        half=grey.reduce(2),
        page_id=page_id,
        grey_source=True,
    )
    page = replace(page, role=PageRole.PAGE, item_id=item_id, side=Side.RECTO)
    for stage in (qc.run, encrypt.run):
        page = stage(page, ctx)
    commit(db, BlobStore(settings.blob_dir), (page,), ctx)
    return page_id
