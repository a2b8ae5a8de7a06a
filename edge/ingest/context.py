"""The values that travel through ingest, and what every stage may read.

`Claimed` is a scanner file moved into the spool; `decode` turns it into one
`Page` per image it holds; each page stage returns `dataclasses.replace(page,
…)` with its part filled in. Nothing here touches the database: routing and
page numbers are decided in `record`, inside the write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PIL import Image

from juanzong.shared.crypto import sha256_hex
from juanzong.shared.ids import Kind, OurCode, new_id
from juanzong.shared.manifest import PageRole, QcCode, Severity, Side  # noqa: F401 - defined once, for both sides
from juanzong.shared.suites import Suite

if TYPE_CHECKING:
    from juanzong.edge.devices.profiles import ScannerProfile
    from juanzong.edge.keys import ApplianceKeys
    from juanzong.shared.crypto import SealedBlob


# --- QC: findings, rules, result (edge/ingest/qc.py computes them) -----------------------

SEVERITIES = tuple(Severity)

# Chinese templates for the operator screen; `{name}` fields are filled per finding.
MESSAGES: dict[str, str] = {
    QcCode.DPI_MISSING: "图像文件没有记录分辨率（dpi），无法确认是否达到要求的 {min_dpi} dpi，请检查扫描仪设置",
    QcCode.DPI_LOW: "分辨率 {dpi} dpi，低于要求的 {min_dpi} dpi",
    "dpi_low_pixels": "图像只有 {width}×{height} 像素，按 A4 幅面折算约 {dpi} dpi，低于要求的 {min_dpi} dpi（文件标称 {declared} dpi）",
    QcCode.COLOUR_EXPECTED: "原件为彩色，但图像是{kind}（{mode}），请用彩色模式重新扫描",
    QcCode.SKEW: "页面倾斜 {degrees}°（{direction}），超过允许的 {limit}°，请摆正后重新扫描",
    QcCode.BLANK: "疑似空白页（几乎没有文字或图形），请确认是否应当保留",
    QcCode.BLACK_BORDER: "页面{edges}边缘有黑边（最宽约 {mm} 毫米），请合上扫描仪盖板或选择正确的纸张尺寸后重新扫描",
    QcCode.TOO_DARK: "图像过暗（平均亮度 {mean}，应不低于 {limit}），请调高扫描亮度后重新扫描",
    QcCode.TOO_LIGHT: "图像过亮、字迹过淡（纸面亮度 {paper}，最深字迹亮度 {ink}），请调低扫描亮度后重新扫描",
    QcCode.DUPLICATE: "与本材料中已扫描的页面 {page_id} 几乎相同，疑似重复扫描",
    QcCode.OVER_SCAN: "申报 {declared} 页，实际扫描 {scanned} 页，多扫 {diff} 页",
    QcCode.UNDER_SCAN: "申报 {declared} 页，实际扫描 {scanned} 页，漏扫 {diff} 页",
    QcCode.ITEM_CLOSED: "材料 {item} 已结束扫描，此页未归入该材料，在未归属队列等候；"
    "如需补扫，请先 edge reopen 重新打开材料，再用 edge assign 归入",
    QcCode.COVER_FOREIGN: "封面页条码 {item} 不是本设备登记的材料（可能是另一台扫描设备打印的封面页），其后的页面进入未归属队列，请核对",
}


@dataclass(frozen=True)
class Finding:
    """One QC observation stored with the page; `value` is never a float (canonical JSON)."""

    code: QcCode
    severity: Severity
    message: str
    value: int | str | None = None

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message, "value": self.value}


@dataclass(frozen=True)
class QcRules:
    min_dpi: int = 300
    skew_limit_centideg: int = 100  # 1.00°: flag (warning) from here
    skew_error_centideg: int = 300  # 3.00°: DA/T 31 limit, an error from here
    expect_colour: bool | None = None  # True when the item/profile says the original is colour
    blank_ink_ratio: float = 0.0001  # ink share below which a page is blank (see module doc)
    dark_mean: int = 80
    light_mean: int = 250
    light_ink_level: int = 160
    ink_contrast: int = 45
    margin_share: float = 0.025  # edge band ignored when counting ink (2.5 % ≈ 5–7 mm on A4)
    border_min_mm: int = 2  # dark edge band at least this deep is a black border
    duplicate_distance: int = 6  # max Hamming distance of 64-bit perceptual hashes


@dataclass(frozen=True)
class QcResult:
    findings: tuple[Finding, ...]
    phash: str  # 16 hex chars, DCT perceptual hash of the page
    skew_centideg: int | None  # None when the page has no line structure (blank, photo)
    is_blank: bool
    ink_ratio_ppm: int  # despeckled ink pixels per million inside the margins


def finding(code: QcCode, severity: Severity, value: int | str | None = None, *, template: str | None = None, **params: object) -> Finding:
    """Build a finding with its Chinese message; `template` picks a variant wording of `code`."""
    message = MESSAGES[template or code].format(**params)
    return Finding(code=code, severity=severity, message=message, value=value)


def duplicate_finding(page_id: str) -> Finding:
    """The finding stored with a page that `duplicate_of` matched to `page_id`."""
    return finding(QcCode.DUPLICATE, Severity.WARNING, page_id, page_id=page_id)


def count_findings(declared: int, scanned: int) -> tuple[Finding, ...]:
    """Over-scan (多扫) / under-scan (漏扫) of an item when it is closed."""
    diff = scanned - declared
    if diff == 0:
        return ()
    code = QcCode.OVER_SCAN if diff > 0 else QcCode.UNDER_SCAN
    return (finding(code, Severity.ERROR, abs(diff), declared=declared, scanned=scanned, diff=abs(diff)),)


# --- barcodes (edge/ingest/barcode.py reads them) ---------------------------------------


@dataclass(frozen=True)
class Barcode:
    text: str
    format: str  # "QRCode" | "Code128"
    ours: OurCode | None  # parse_payload(text); None = foreign

    @property
    def is_cover_sheet(self) -> bool:
        return self.ours is not None and self.ours.is_cover_sheet


@dataclass(frozen=True)
class BarcodeScan:
    codes: tuple[Barcode, ...]
    stages: tuple[str, ...]  # stages tried, e.g. ("half",) or ("half", "full", "median")
    error: str = ""  # set when the decoder failed; codes then hold what was found before

    @property
    def cover_item(self) -> str | None:
        """The item id if exactly one distinct cover-sheet id was read; two is ambiguous → None."""
        items = {code.ours.ident for code in self.codes if code.is_cover_sheet and code.ours}
        return items.pop() if len(items) == 1 else None

    @property
    def foreign(self) -> tuple[Barcode, ...]:
        return tuple(code for code in self.codes if code.ours is None)


# --- routing (edge/ingest/route.py decides; edge/appliance.py gives the view) ------------


@dataclass(frozen=True)
class ReplaceTarget:
    page_id: str
    item_id: str
    side: str


@dataclass(frozen=True)
class Sides:
    images: int  # images of the item so far, its latest cover sheet included
    after_cover: bool  # the count starts at a cover sheet


@dataclass(frozen=True)
class ItemInfo:
    item_id: str
    colour: bool
    declared_pages: int
    closed: bool = False


class RoutingView(Protocol):
    def item(self, item_id: str) -> ItemInfo | None: ...
    def active_item(self) -> str | None: ...
    def sides(self, item_id: str) -> Sides: ...
    def phashes(self, item_id: str) -> dict[str, str]: ...
    def replace_targets(self) -> list[ReplaceTarget]: ...


# --- the page and what every stage may read ----------------------------------------------


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


def new_page(
    claimed: Claimed,
    index: int,
    data: bytes,
    fmt: str,
    size: tuple[int, int],
    dpi: int | None,
    mode: str,
    half: Image.Image,
    *,
    grey_source: bool,
) -> Page:
    """A decoded page: its stored bytes, their hash, and the analysis image."""
    return Page(
        claimed=claimed,
        index=index,
        data=data,
        source_sha256=sha256_hex(data),
        source_size=len(data),
        fmt=fmt,
        width=size[0],
        height=size[1],
        dpi=dpi,
        mode=mode,
        half=half,
        page_id=new_id(Kind.PAGE),
        grey_source=grey_source,
    )
