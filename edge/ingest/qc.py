"""Per-page image quality control: what the contract asks of every scanned page.

QC reads the analysis images the ingest already decoded (grey at 1/2 size, colour at
≤ 1/4) and returns findings that are stored with the page; it never changes the image.
Everything here runs on one core within ~12 ms per page, so every pass over pixels is
a Pillow C primitive (histogram, point, reduce, box resize) and numpy only ever sees
small arrays (16 strip profiles, a 1/8-size thumbnail, a 16×128 hash image).

Values are ints or strings only, because findings go into canonical-JSON manifests:
skew in centidegrees (positive = content turned counter-clockwise), dpi as an int,
hashes as hex.

Thresholds (QcRules defaults), tuned on synthetic 300 dpi A4 scans (the QC pages of edge/tooling/pages.py):
- ink: a pixel darker than the paper level (histogram mode) by `ink_contrast` (45) grey
  levels. Duplex bleed-through stays within ~25 levels of the paper and sensor noise
  (σ≈5–8) never reaches 45, so neither counts; washed-out print (~65 levels) still does.
- ink is only counted in 8×8 cells (at 1/2 size, ~1.4 mm) holding ≥ 6 ink pixels, so
  isolated dust specks do not make a page "not blank"; a `margin_share` band at every
  edge (scanner shadows) is ignored.
- blank: ink below `blank_ink_ratio` = 0.0001 (100 ppm). The brief's 0.002 would call a
  page with one short line (「以下无正文」: 389 ppm) or a signature (1154 ppm) blank; a
  duplex back side with bleed-through and dust measures 0.
- too dark: whole-page mean < `dark_mean` (80): an underexposed scan has its paper at ~70.
- too light: the paper level ≥ `light_mean` (250: clipped by overexposure) AND the darkest
  ink (10th percentile of the ink pixels) lighter than `light_ink_level` (160); the value
  is that ink level. A page mean cannot decide: a sparse page on white paper has a mean
  near 255 yet black ink, and many scanners calibrate good paper to 255. Print washed
  out to ~185 is caught; pencil (~150) and blue ballpoint (~60) are not.
- black border: an edge whose outermost rows/columns are ≥ 60 % dark (< half the paper
  level, at most 90) for ≥ `border_min_mm` (2 mm). A rule or table line printed to the
  edge is < 1 mm and does not count.
- skew: flagged from `skew_limit_centideg` (1°) as a warning, from `skew_error_centideg`
  (3°, the DA/T 31 limit) as an error. Measured error on synthetic text pages between
  0.3° and 7°: ≤ 0.07°.
- dpi: a header below `min_dpi` is an error; no header is a warning; an A4-shaped image
  whose pixels imply < 90 % of `min_dpi` (e.g. 1240×1754 labelled 300 dpi) is a
  `dpi_low` warning (an A5 original has the same shape, so never an error).

Severities: "error" = a contract breach the operator must rescan or override (dpi_low
from the header, colour_expected, skew ≥ 3°, over_scan, under_scan); "warning" = shown
for a decision (everything else).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from juanzong.edge.ingest.context import (  # the stage contract: QC's value types and texts
    Finding,
    PageRole,
    QcCode,
    QcResult,
    QcRules,
    Severity,
    Side,
    duplicate_finding,
    finding,
)
from juanzong.shared.ids import format_id

if TYPE_CHECKING:
    from juanzong.edge.ingest.context import IngestContext, Page

A4_INCHES = (8.27, 11.69)
_STRIPS = 16  # vertical strips for the skew projection profiles
_SKEW_RANGE_DEG = 10.0  # search ±10°; the contract cares about 0.3–7°
_SKEW_MIN_PEAK = 6.0  # best / median edge energy over the coarse angles: text ≥ 9, photos ≈ 5
_CELL = 8  # ink despeckle cell at 1/2 size
_CELL_MIN_INK = 6  # ink pixels a cell needs to count (of 64)

_EDGE_NAMES = {"top": "上", "bottom": "下", "left": "左", "right": "右"}


@dataclass(frozen=True)
class QcInput:
    gray: Image.Image  # mode "L", the page at 1/2 size (decode's analysis image)
    grey_source: bool  # the scan holds no colour (edge.ingest.analysis.grey_source)
    source_mode: str  # PIL mode of the source file
    dpi: tuple[int, int] | None  # from the file header; None when absent
    pixel_size: tuple[int, int]  # full-size width, height


@dataclass(frozen=True)
class _Tones:
    """Grey-level statistics of the page inside the margins (from one histogram)."""

    mean: int
    paper: int  # histogram mode: the paper's grey level
    ink_threshold: int  # below this a pixel is ink
    ink_level: int | None  # 10th percentile of the ink pixels (how dark the print is)


def analyse(inp: QcInput, rules: QcRules) -> QcResult:
    """Run every per-page check on the analysis images; pure, never touches the master."""
    content, offset = _inside_margins(inp.gray, rules.margin_share)
    tones = _tones(content.histogram(), rules.ink_contrast)
    ink = content.point(_ink_lut(tones.ink_threshold))
    cells = _dense_cells(ink)
    ink_ppm = round(int(cells.sum()) * 1_000_000 / (255 * max(cells.size, 1)))
    is_blank = ink_ppm < rules.blank_ink_ratio * 1_000_000
    skew = None if is_blank else estimate_skew(ink)
    thumb = inp.gray.reduce(4)
    box = _ink_box(cells, offset, scale=_CELL / 4)
    findings = (
        *_dpi_findings(inp, rules),
        *_colour_findings(inp, rules),
        *_skew_findings(skew, rules),
        *_blank_findings(is_blank),
        *_border_findings(thumb, tones, inp.pixel_size[0] / thumb.width, inp.dpi, rules.border_min_mm),
        *_exposure_findings(tones, is_blank, rules),
    )
    phash = perceptual_hash(thumb.crop(box) if box else thumb)
    return QcResult(findings=findings, phash=phash, skew_centideg=skew, is_blank=is_blank, ink_ratio_ppm=ink_ppm)


# ---- tones, ink, blank -------------------------------------------------------------------


def _inside_margins(gray: Image.Image, share: float) -> tuple[Image.Image, tuple[int, int]]:
    w, h = gray.size
    mx, my = round(w * share), round(h * share)
    return gray.crop((mx, my, w - mx, h - my)), (mx, my)


def _tones(hist: list[int], ink_contrast: int) -> _Tones:
    counts = np.asarray(hist[:256], dtype=np.int64)
    levels = np.arange(256)
    total = max(int(counts.sum()), 1)
    smooth = np.convolve(counts, np.ones(5), mode="same")  # the mode of a noisy paper is a hill, not a spike
    paper = int(smooth.argmax())
    threshold = max(paper - ink_contrast, 0)
    ink = counts[:threshold]
    ink_level = None
    if ink.sum() > 0:
        ink_level = int(np.searchsorted(np.cumsum(ink), 0.10 * ink.sum()))
    return _Tones(mean=round(float((counts * levels).sum()) / total), paper=paper, ink_threshold=threshold, ink_level=ink_level)


@lru_cache(maxsize=256)
def _ink_lut(threshold: int) -> tuple[int, ...]:
    return tuple(255 if v < threshold else 0 for v in range(256))


def _dense_cells(ink: Image.Image) -> np.ndarray:
    """Per 8×8 cell, 255 × its ink share; cells too sparse to be marks (dust) are zeroed."""
    cells = np.asarray(ink.reduce(_CELL), dtype=np.int64)
    cells[cells * (_CELL * _CELL) < _CELL_MIN_INK * 255] = 0
    return cells


def _ink_box(cells: np.ndarray, offset: tuple[int, int], scale: float) -> tuple[int, int, int, int] | None:
    """Bounding box of the marks (rows/columns with ≥ 2 dense cells), in thumbnail pixels."""
    marked = cells > 0
    rows, cols = np.flatnonzero(marked.sum(axis=1) >= 2), np.flatnonzero(marked.sum(axis=0) >= 2)
    if rows.size < 2 or cols.size < 2:
        return None
    ox, oy = offset[0] / 4, offset[1] / 4
    return (
        round(ox + cols[0] * scale),
        round(oy + rows[0] * scale),
        round(ox + (cols[-1] + 1) * scale),
        round(oy + (rows[-1] + 1) * scale),
    )


def _blank_findings(is_blank: bool) -> tuple[Finding, ...]:
    return (finding(QcCode.BLANK, Severity.WARNING),) if is_blank else ()


# ---- skew -------------------------------------------------------------------------------


def estimate_skew(ink: Image.Image) -> int | None:
    """Text-line skew in centidegrees (positive = counter-clockwise), None without line structure.

    Projection profiles: the binarised page is cut into vertical strips, each strip's row
    profile is shifted by x·tan(θ) and summed; text lines line up (the summed profile is
    sharpest: most energy in its row-to-row changes) at the true angle. Coarse to fine:
    0.5° steps on 1/8 of the rows, then 0.1° on 1/2, then 0.02° on all rows, with a
    parabola through the best three.
    """
    w, h = ink.size
    h -= h % 8
    profiles = np.asarray(ink.resize((_STRIPS, h), Image.Resampling.BOX, box=(0, 0, w, h)), dtype=np.float32).T
    if profiles.sum() < 255 * 2 * h / _STRIPS:  # far too little ink for any line structure
        return None
    xs = ((np.arange(_STRIPS) + 0.5) * (w / _STRIPS) - w / 2).astype(np.float32)
    angles = np.arange(-_SKEW_RANGE_DEG, _SKEW_RANGE_DEG + 0.01, 0.5)
    scores = _profile_energy(_fold_rows(profiles, 8), xs / 8, angles)
    if scores.max() < _SKEW_MIN_PEAK * float(np.median(scores)):
        return None
    best = float(angles[int(scores.argmax())])
    for fold, step in ((2, 0.1), (1, 0.02)):
        angles = best + step * np.arange(-5, 6)
        scores = _profile_energy(_fold_rows(profiles, fold), xs / fold, angles)
        best = _parabola_peak(angles, scores, step)
    return round(best * 100)


def _fold_rows(profiles: np.ndarray, n: int) -> np.ndarray:
    return profiles if n == 1 else profiles.reshape(profiles.shape[0], -1, n).sum(axis=2)


def _profile_energy(profiles: np.ndarray, xs: np.ndarray, angles_deg: np.ndarray) -> np.ndarray:
    """Energy of the row-to-row changes of the strip profiles summed after shearing by each angle."""
    k, h = profiles.shape
    # content turned counter-clockwise by θ has its lines at y0 − x·tanθ: undo by sampling at y − x·tanθ
    shifts = np.rint(np.tan(np.radians(angles_deg))[:, None] * xs[None, :]).astype(np.intp)
    pad = int(np.abs(shifts).max()) + 1
    padded = np.zeros((k, h + 2 * pad), dtype=np.float32)
    padded[:, pad : pad + h] = profiles
    starts = np.arange(k)[None, :] * (h + 2 * pad) + pad - shifts  # angle × strip
    flat = (starts[:, :, None] + np.arange(h)[None, None, :]).ravel()
    summed = padded.ravel().take(flat).reshape(len(angles_deg), k, h).sum(axis=1)
    edges = np.diff(summed, axis=1)  # line edges, not mass: a photo's blobs barely count
    return np.einsum("ij,ij->i", edges, edges, dtype=np.float64)


def _parabola_peak(angles: np.ndarray, scores: np.ndarray, step: float) -> float:
    i = int(scores.argmax())
    if 0 < i < len(scores) - 1:
        a, b, c = scores[i - 1], scores[i], scores[i + 1]
        denom = a - 2 * b + c
        if denom < 0:
            return float(angles[i] + step * 0.5 * (a - c) / denom)
    return float(angles[i])


def _skew_findings(skew: int | None, rules: QcRules) -> tuple[Finding, ...]:
    if skew is None or abs(skew) < rules.skew_limit_centideg:
        return ()
    severity = Severity.ERROR if abs(skew) >= rules.skew_error_centideg else Severity.WARNING
    return (
        finding(
            QcCode.SKEW,
            severity,
            skew,
            degrees=f"{abs(skew) / 100:.2f}",
            direction="逆时针" if skew > 0 else "顺时针",
            limit=f"{rules.skew_limit_centideg / 100:.2f}",
        ),
    )


# ---- dpi and colour ---------------------------------------------------------------------


def _dpi_findings(inp: QcInput, rules: QcRules) -> tuple[Finding, ...]:
    if inp.dpi is None:
        return (finding(QcCode.DPI_MISSING, Severity.WARNING, min_dpi=rules.min_dpi),)
    declared = min(inp.dpi)
    if declared < rules.min_dpi:
        return (finding(QcCode.DPI_LOW, Severity.ERROR, declared, dpi=declared, min_dpi=rules.min_dpi),)
    implied = a4_implied_dpi(inp.pixel_size)
    if implied is not None and implied < rules.min_dpi * 0.9:
        w, h = inp.pixel_size
        return (
            finding(
                QcCode.DPI_LOW,
                Severity.WARNING,
                implied,
                template="dpi_low_pixels",
                width=w,
                height=h,
                dpi=implied,
                min_dpi=rules.min_dpi,
                declared=declared,
            ),
        )
    return ()


def a4_implied_dpi(pixel_size: tuple[int, int]) -> int | None:
    """The dpi an A4-shaped image really has, or None when the image is not A4-shaped.

    Only A4 proportions (±3 %) are judged: smaller originals (receipts, ID cards) are
    legitimately fewer pixels at 300 dpi. An A5 original has A4's proportions too, so
    this is a warning, never an error.
    """
    short, long = sorted(pixel_size)
    if short <= 0 or abs(long / short / (A4_INCHES[1] / A4_INCHES[0]) - 1) > 0.03:
        return None
    return round(short / A4_INCHES[0])


def _colour_findings(inp: QcInput, rules: QcRules) -> tuple[Finding, ...]:
    if not rules.expect_colour or not inp.grey_source:
        return ()
    kind = "黑白二值图像" if inp.source_mode == "1" else "灰度图像"
    return (finding(QcCode.COLOUR_EXPECTED, Severity.ERROR, inp.source_mode, kind=kind, mode=inp.source_mode),)


# ---- borders and exposure ---------------------------------------------------------------


def _border_findings(
    thumb: Image.Image, tones: _Tones, full_px_per_thumb_px: float, dpi: tuple[int, int] | None, min_mm: int
) -> tuple[Finding, ...]:
    depths = border_depths(np.asarray(thumb), dark_level=min(90, tones.paper // 2))
    mm_per_px = 25.4 * full_px_per_thumb_px / (min(dpi) if dpi else 300)
    deep = {edge: round(px * mm_per_px) for edge, px in depths.items() if px * mm_per_px >= min_mm}
    if not deep:
        return ()
    edges = "、".join(_EDGE_NAMES[e] for e in deep)
    return (finding(QcCode.BLACK_BORDER, Severity.WARNING, max(deep.values()), edges=edges, mm=max(deep.values())),)


def border_depths(small: np.ndarray, dark_level: int) -> dict[str, int]:
    """Per edge, how many rows/columns from the edge inward are mostly (≥ 60 %) dark."""
    dark = small < dark_level
    rows, cols = dark.mean(axis=1), dark.mean(axis=0)
    lines = {"top": rows, "bottom": rows[::-1], "left": cols, "right": cols[::-1]}
    depths = {}
    for edge, share in lines.items():
        limit = len(share) // 3
        light = np.flatnonzero(share[:limit] < 0.6)
        depths[edge] = int(light[0]) if light.size else limit
    return depths


def _exposure_findings(tones: _Tones, is_blank: bool, rules: QcRules) -> tuple[Finding, ...]:
    if tones.mean < rules.dark_mean:
        return (finding(QcCode.TOO_DARK, Severity.WARNING, tones.mean, mean=tones.mean, limit=rules.dark_mean),)
    faint = tones.ink_level is not None and tones.ink_level >= rules.light_ink_level
    if not is_blank and tones.paper >= rules.light_mean and faint:
        return (finding(QcCode.TOO_LIGHT, Severity.WARNING, tones.ink_level, paper=tones.paper, ink=tones.ink_level),)
    return ()


# ---- duplicates and page counts ---------------------------------------------------------


@lru_cache(maxsize=4)
def _dct_matrix(n: int) -> np.ndarray:
    k, x = np.arange(n)[:, None], np.arange(n)[None, :]
    return np.cos(np.pi * (2 * x + 1) * k / (2 * n))


def perceptual_hash(img: Image.Image) -> str:
    """64-bit DCT perceptual hash (16 hex chars) of the marked area of a page.

    A DCT pHash, not dHash: a rescan with noise, a new JPEG encoding and a few pixels of
    shift changes high frequencies, which the low-frequency block never sees, while dHash
    compares neighbouring pixels and flips bits on noise in the flat paper areas. Two
    changes from the textbook 32×32 / 8×8 pHash, because pages of one item share their
    layout and the classic hash called different judgment pages equal (2–6 bits apart):
    the image is the ink bounding box (`_ink_box`), so the paper's position on the platen
    cancels out, and the block is anisotropic, 16 vertical × 4 horizontal frequencies of a
    16×128 resample, because text pages differ line by line (paragraph ends, short lines)
    far more than across a line. Measured on synthetic pages: rescans (shift ≤ 15 px,
    0.4° rotation, noise, JPEG q70) 0–4 bits apart, different pages ≥ 10.
    """
    small = np.asarray(img.convert("L").resize((16, 128), Image.Resampling.BOX), dtype=np.float64)
    block = (_dct_matrix(128) @ small @ _dct_matrix(16).T)[:16, :4].ravel()  # DC first
    bits = block > np.median(block)
    bits[0] = False  # the DC term only says "paper is lighter than ink": carries nothing
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def duplicate_of(phash: str, earlier: Mapping[str, str], rules: QcRules) -> str | None:
    """The earlier page (id) of the same item this page looks like, the closest one; None if none.

    Leave blank pages (`QcResult.is_blank`) out of both sides: with no marks to hash,
    two digitally white pages hash alike and would be "duplicates" of each other.
    """
    best: tuple[int, str] | None = None
    for page_id, other in earlier.items():
        d = hamming(phash, other)
        if d <= rules.duplicate_distance and (best is None or d < best[0]):
            best = (d, page_id)
    return best[1] if best else None


# ---- the analysis input of a decoded page ----------------------------------------------


def qc_input(page: Page) -> QcInput:
    """What QC reads of a page: decode's half-size grey image and what it learnt of the file."""
    assert page.half is not None, "QC runs before the analysis image is dropped"
    return QcInput(
        gray=page.half,
        grey_source=page.grey_source,
        source_mode=page.mode,
        dpi=(page.dpi, page.dpi) if page.dpi else None,
        pixel_size=(page.width, page.height),
    )


def make_qc_input(path: Path) -> QcInput:
    """A scan file through the production decode (tests, benchmarks, tools): its first page's input."""
    from juanzong.edge.ingest.decode import decode_file

    return qc_input(decode_file(path)[0])


# ---- ingest stage -----------------------------------------------------------------------


def run(page: Page, ctx: IngestContext) -> Page:
    """Ingest stage: attach the QC result to the page (our own cover sheets are not checked).

    The rules follow the page's item: a colour original must come out in colour,
    and a page that looks like an earlier page of the same item is flagged as a
    possible duplicate (blank pages are never compared: all white pages look alike).
    A blank verso is marked `blank_dropped` only where the scanner profile says
    `blank_backside.policy = "drop"`; the page is still stored, so counts add up.
    """
    if page.role == PageRole.COVER_UNKNOWN:
        return replace(page, qc=_foreign_cover(page))
    if page.role == PageRole.COVER:
        return page
    item = ctx.view.item(page.item_id) if page.item_id else None
    rules = replace(ctx.qc_rules, expect_colour=item.colour if item else None)
    result = analyse(qc_input(page), rules)
    if item and not result.is_blank:
        twin = duplicate_of(result.phash, ctx.view.phashes(item.item_id), rules)
        if twin:
            result = replace(result, findings=result.findings + (duplicate_finding(twin),))
    if page.held:
        result = replace(
            result, findings=result.findings + (finding(QcCode.ITEM_CLOSED, Severity.ERROR, page.held, item=format_id(page.held)),)
        )
    if page.role == PageRole.COVER_BACK:  # printed on the back of our cover sheet: a page after all
        return replace(page, qc=result, role=PageRole.COVER_BACK if result.is_blank else PageRole.PAGE)
    # a rescan taking over a numbered image stays a page: dropping it would leave a gap (跳码)
    drop = result.is_blank and page.side == Side.VERSO and ctx.profile.blank_backside == "drop" and not page.replaces
    return replace(page, qc=result, role=PageRole.BLANK_DROPPED if drop else page.role)


def _foreign_cover(page: Page) -> QcResult:
    """Reported, not silently ignored: our code, but not an item of this appliance."""
    named = page.cover_item or ""
    shown = format_id(named) if named else "?"
    return QcResult(
        findings=(finding(QcCode.COVER_FOREIGN, Severity.ERROR, named, item=shown),),
        phash="",
        skew_centideg=None,
        is_blank=False,
        ink_ratio_ppm=0,
    )
