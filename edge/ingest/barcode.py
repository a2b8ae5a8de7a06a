"""The barcode stage: find our cover-sheet codes on a scanned page, and nothing else.

Reading is a cascade measured in measurements §1 (zxing-cpp 202/216 degraded
pages, median 33 ms):

1. ``half``   — the JPEG decoded at 1/2 scale in gray (DCT scaling, ~16 ms + ~11 ms);
2. ``full``   — the full-size gray page (~19 ms + ~36 ms);
3. ``median`` — a 3×3 median filter on the full page (+~205 ms; fixes salt-and-pepper).

The ingest budget is ~50 ms a page, so the cascade stops at the first code of
ours, and a page where stage 1 saw nothing at all — no code, no symbol that
was detected but failed to decode — stops after stage 1 unless ``thorough``.
Our cover sheets carry big codes (see `edge.coversheet`) that read at 1/2
scale, so the later stages exist for damaged sheets, which nearly always
leave a detectable-but-broken symbol (zxing ``return_errors``) behind.

Formats are always restricted to Code128 + QR: with all formats zxing-cpp
reads bogus EAN-13s out of halftone photos. A decoded text is ours only if
`shared.ids.parse_payload` accepts it (prefix, version, kind and check).
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

import zxingcpp
from PIL import Image, ImageFilter

from juanzong.edge.ingest import analysis
from juanzong.edge.ingest.context import Barcode, BarcodeScan  # the stage contract
from juanzong.shared.ids import PAYLOAD_PREFIX, parse_payload

if TYPE_CHECKING:
    from juanzong.edge.ingest.context import IngestContext, Page

log = logging.getLogger(__name__)

STAGES = ("half", "full", "median")
_FORMATS = (zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.QRCode)
# zxing-cpp's stubs type `formats` as BarcodeFormats, but `a | b` is deprecated: a tuple is the current form
ZXING_FORMATS: zxingcpp.BarcodeFormats = _FORMATS  # type: ignore[assignment]
PYZBAR_NAMES = {"CODE128": "Code128", "QRCODE": "QRCode"}


@dataclass(frozen=True)
class Reading:
    """What one decoder pass saw."""

    codes: tuple[Barcode, ...]
    suspicious: bool  # a symbol was found but failed to decode, or a JZ text failed our check


def _barcode(text: str, fmt: str) -> Barcode:
    return Barcode(text=text, format=fmt, ours=parse_payload(text))


def _reading(codes: list[Barcode], errored: bool) -> Reading:
    near_miss = any(c.ours is None and c.text.startswith(PAYLOAD_PREFIX) for c in codes)
    return Reading(tuple(codes), errored or near_miss)


def read_zxing(img: Image.Image, quick: bool = False) -> Reading:
    # The half-size first look skips zxing's own downscaled and inverted passes:
    # our sheets are large dark-on-light codes, and the full-size stage keeps them.
    results = zxingcpp.read_barcodes(img, formats=ZXING_FORMATS, return_errors=True, try_downscale=not quick, try_invert=not quick)
    codes = [_barcode(r.text, r.format.name) for r in results if r.valid]
    return _reading(codes, errored=any(not r.valid and _plausible_symbol(r) for r in results))


def _plausible_symbol(result) -> bool:
    """A failed QR worth escalating for is nearly square; dense Chinese text makes
    zxing "see" skewed QR outlines (side ratios ≈ 0.5) that would otherwise send
    ordinary pages through the 800 ms full + median cascade."""
    if result.format.name != "QRCode":
        return True
    pos = result.position
    corners = [(p.x, p.y) for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)]
    sides = [math.dist(corners[i], corners[(i + 1) % 4]) for i in range(4)]
    diagonals = [math.dist(corners[0], corners[2]), math.dist(corners[1], corners[3])]
    return min(sides) >= 0.75 * max(sides) and min(diagonals) >= 0.75 * max(diagonals)


def read_pyzbar(img: Image.Image, quick: bool = False) -> Reading:
    # imported here: pyzbar needs the system libzbar0, the default zxing path must not
    from pyzbar import pyzbar
    from pyzbar.pyzbar import ZBarSymbol

    results = pyzbar.decode(img, symbols=[ZBarSymbol.CODE128, ZBarSymbol.QRCODE])
    codes = [_barcode(r.data.decode("utf-8", errors="replace"), PYZBAR_NAMES.get(r.type, r.type)) for r in results]
    # zbar reports no failed symbols, so only a JZ near-miss makes a pyzbar page suspicious
    return _reading(codes, errored=False)


BACKENDS: dict[str, Callable[..., Reading]] = {"zxing": read_zxing, "pyzbar": read_pyzbar}


class PageImages:
    """The page at each cascade stage, decoded lazily and at most once."""

    def __init__(self, source: bytes | Path | Image.Image, half: Image.Image | None = None) -> None:
        if isinstance(source, (str, Path)):
            source = Path(source).read_bytes()  # one disk read for both decodes
        self._source = source
        self._cache: dict[str, Image.Image] = {}
        if half is not None:
            self._cache["half"] = _gray(half)

    def get(self, stage: str) -> Image.Image:
        if stage not in self._cache:
            self._cache[stage] = getattr(self, "_" + stage)()
        return self._cache[stage]

    def _half(self) -> Image.Image:
        if not _is_jpeg(self._source):
            return self.get("full").reduce(2)  # PNG/TIFF/an image: no cheaper way in
        img: Image.Image = Image.open(io.BytesIO(self._source))
        width = img.width
        # DCT scaling with gray decoder output: 16 ms instead of 43 ms (measurements §2)
        img.draft("L", (img.width // 2, img.height // 2))
        img = _gray(img)
        return img if img.width <= width // 2 + 1 else img.reduce(2)

    def _full(self) -> Image.Image:
        if isinstance(self._source, Image.Image):
            return _gray(self._source)
        img = Image.open(io.BytesIO(self._source))
        if img.format == "JPEG":
            img.draft("L", img.size)  # the decoder outputs gray: 19 ms instead of 43 ms
        return _gray(img)

    def _median(self) -> Image.Image:
        return self.get("full").filter(ImageFilter.MedianFilter(3))


def _is_jpeg(source: bytes | Image.Image) -> TypeGuard[bytes]:
    return isinstance(source, bytes) and source[:3] == b"\xff\xd8\xff"


def _gray(img: Image.Image) -> Image.Image:
    return analysis.grey(img)  # 16-bit, CIELAB, alpha: never clipped, never a crash


def _add_new(found: list[Barcode], codes: tuple[Barcode, ...]) -> None:
    """Append codes not already found (the same symbol is read again at each stage)."""
    for code in codes:
        if all((code.text, code.format) != (c.text, c.format) for c in found):
            found.append(code)


def read_codes(
    source: bytes | Path | Image.Image, *, backend: str = "zxing", thorough: bool = False, half: Image.Image | None = None
) -> BarcodeScan:
    """Our and foreign Code128/QR codes on one page, by the cascade above; never raises for a bad page.

    `half` is the page already decoded at 1/2 scale (the decode stage has it), so
    stage 1 costs only the decoder. `thorough` escalates even on a page that
    showed nothing (for a re-check an operator asked for, not for ingest).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown barcode backend {backend!r}; known: {', '.join(BACKENDS)}")
    decode = BACKENDS[backend]
    found: list[Barcode] = []
    tried: list[str] = []
    suspicious = False
    try:
        images = PageImages(source, half)
        for stage in STAGES:
            if tried and not (thorough or _escalate(stage, found, suspicious)):
                break
            tried.append(stage)
            reading = decode(images.get(stage), quick=stage == "half")
            _add_new(found, reading.codes)
            suspicious = suspicious or reading.suspicious
            if any(code.ours for code in found):
                break
    except Exception as exc:  # one bad page must never stop ingest
        log.warning("barcode reading failed at stage %s: %s", tried[-1] if tried else "load", exc, exc_info=True)
        return BarcodeScan(tuple(found), tuple(tried), error=f"{type(exc).__name__}: {exc}")
    return BarcodeScan(tuple(found), tuple(tried))


def _escalate(stage: str, found: list[Barcode], suspicious: bool) -> bool:
    """Whether to pay for `stage` when none of ours has been read yet.

    The full page (+~55 ms) is tried once anything showed up: a foreign code
    (our sheet might be the small print beside it), a symbol that failed, or a
    JZ text that failed our check. The median filter (+~250-450 ms) only fixes
    noise that breaks symbols, so it runs only when a broken symbol or a JZ
    near-miss was seen: a cleanly read waybill must not cost half a second.
    """
    if stage == "full":
        return bool(found) or suspicious
    return suspicious


def run(page: Page, ctx: IngestContext) -> Page:
    """Page stage: read the codes from the half-size image decode already made."""
    return replace(page, codes=read_codes(page.data, backend=ctx.profile.barcode_backend, half=page.half))
