"""The values that travel through ingest, and what every stage may read.

`Claimed` is a scanner file moved into the spool; `decode` turns it into one
`Page` per image it holds; each page stage returns `dataclasses.replace(page,
…)` with its part filled in. Nothing here touches the database: routing and
page numbers are decided in `record`, inside the write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from juanzong.shared.crypto import sha256_hex
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.suites import Suite

if TYPE_CHECKING:
    from juanzong.edge.ingest.barcode import BarcodeScan
    from juanzong.edge.ingest.qc import QcResult, QcRules
    from juanzong.edge.ingest.route import RoutingView
    from juanzong.edge.keys import ApplianceKeys
    from juanzong.shared.crypto import SealedBlob
    from juanzong.shared.profiles import ScannerProfile


class PageRole(StrEnum):
    """What a stored image is (the `role` of a page row). PAGE, REPLACED and DISCARDED travel to central."""

    PAGE = "page"  # a page of an item (numbered), or waiting unassigned
    COVER = "cover"  # our cover sheet of a known item: a separator, never numbered
    COVER_UNKNOWN = "cover_unknown"  # our cover sheet naming an item this appliance does not know
    COVER_BACK = "cover_back"  # the blank back of a cover sheet (duplex)
    BLANK_DROPPED = "blank_dropped"  # a blank verso the profile drops from the count (still stored)
    REPLACED = "replaced"  # replaced by a rescan: keeps its row and blob, gives up its number
    DISCARDED = "discarded"  # taken out of the numbering at the QC station, with a reason (travels)


class Side(StrEnum):
    RECTO = "recto"  # stamps bottom-right
    VERSO = "verso"  # stamps bottom-left


class QcCode(StrEnum):
    """What a QC finding is about (edge.ingest.qc writes them; Chinese texts in qc.MESSAGES)."""

    DPI_MISSING = "dpi_missing"
    DPI_LOW = "dpi_low"
    COLOUR_EXPECTED = "colour_expected"
    SKEW = "skew"
    BLANK = "blank"
    BLACK_BORDER = "black_border"
    TOO_DARK = "too_dark"
    TOO_LIGHT = "too_light"
    DUPLICATE = "duplicate"
    OVER_SCAN = "over_scan"  # 多扫 (an item's count, at close)
    UNDER_SCAN = "under_scan"  # 漏扫
    ITEM_CLOSED = "item_closed"  # scanned for an item already closed: held in the unassigned queue
    COVER_FOREIGN = "cover_foreign"  # our cover sheet, but of an item this appliance does not know


class Severity(StrEnum):
    WARNING = "warning"  # shown; the operator decides
    ERROR = "error"  # a contract breach: rescan or override


@dataclass(frozen=True)
class Claimed:
    """A scanner file, moved atomically from the hot folder into the spool."""

    claim: str  # spool file name: ordered, unique
    path: Path
    source_name: str  # the name the scanner gave it


@dataclass(frozen=True)
class Page:
    claimed: Claimed
    index: int  # position inside a multi-page source (0 for a single image)
    data: bytes  # the page image as stored (the scanner's bytes for single-image files)
    source_sha256: str
    source_size: int
    fmt: str  # "jpeg" | "tiff" | "png" | "jp2"
    width: int
    height: int
    dpi: int | None
    mode: str  # PIL mode of the source image
    half: Image.Image | None  # grey, half size: what barcode and QC analyse (dropped once they have)
    page_id: str
    grey_source: bool = False  # the scan holds no colour (edge.ingest.analysis.grey_source)
    role: PageRole | None = None  # set by route (and qc)
    item_id: str | None = None
    side: Side = Side.RECTO
    replaces: str | None = None  # a rescan taking over this page's number
    held: str | None = None  # the closed item this page was scanned for (it waits unassigned)
    codes: BarcodeScan | None = None
    qc: QcResult | None = None
    sealed: SealedBlob | None = None

    @property
    def claim_key(self) -> str:
        return f"{self.claimed.claim}#{self.index}"

    @property
    def cover_item(self) -> str | None:
        return self.codes.cover_item if self.codes else None


@dataclass(frozen=True)
class IngestContext:
    appliance_id: str
    profile: ScannerProfile
    keys: ApplianceKeys
    qc_rules: QcRules
    max_pixels: int
    view: RoutingView
    suite: Suite = Suite.AES  # crypto_suite: blobs sealed with it


def new_page(claimed: Claimed, index: int, data: bytes, fmt: str, size: tuple[int, int], dpi: int | None,
             mode: str, half: Image.Image, *, grey_source: bool) -> Page:
    """A decoded page: its stored bytes, their hash, and the analysis image."""
    return Page(claimed=claimed, index=index, data=data, source_sha256=sha256_hex(data), source_size=len(data),
                fmt=fmt, width=size[0], height=size[1], dpi=dpi, mode=mode, half=half, page_id=new_id(Kind.PAGE),
                grey_source=grey_source)
