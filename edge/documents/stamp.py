"""The page stamp: a vector overlay, never a change to the scanned image.

Every page of an assembled PDF carries, drawn as PDF paths on top of the image:
our QR code (`shared.ids.make_page_stamp`: item id, page number and a check
character), the case number and 第 n 页 / 共 m 页. Recto pages are stamped
bottom-right, verso pages bottom-left (the paper-numbering convention).

The stamp goes inside the bottom margin and never over text when a blank place
exists: the page is analysed at about 1 mm per pixel, and the stamp's box (plus a
clearance) slides from the corner towards the middle and upwards within the
bottom band until it covers no ink. Only a page with no blank place at all is
stamped in the corner anyway, and the result says so (`over_content`).

The visible text is drawn as glyph outlines (filled paths) taken from the CJK
font, not as PDF text: the stamp stays readable everywhere and never mixes
into the page's searchable OCR text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from juanzong.edge.coversheet import qr_modules
from juanzong.shared.fonts import find_cjk_font
from juanzong.shared.ids import make_page_stamp

MM = 72 / 25.4  # points per millimetre
MODULE_MM = 0.5  # QR module: ≥ 5 px at 300 dpi (measurements: zxing reads it at 1/2 scale)
QUIET_MODULES = 2
EDGE_MM = 6.0  # distance from the paper edge
CLEAR_MM = 2.0  # blank clearance around the stamp
TEXT_MM = 2.6  # height of the stamp's text
TEXT_GAP_MM = 1.5
BAND_SHARE = 0.14  # the stamp may move up at most this share of the page height
INK_LEVEL = 150  # grey below this is ink
ANALYSIS_MM = 1.0  # analysis pixel size


@dataclass(frozen=True)
class StampInfo:
    item_id: str
    page_no: int
    page_count: int
    case_number: str
    side: str  # "recto" | "verso"

    @property
    def payload(self) -> str:
        return make_page_stamp(self.item_id, self.page_no)

    @property
    def lines(self) -> tuple[str, str]:
        return self.case_number, f"第 {self.page_no} 页 / 共 {self.page_count} 页"


@dataclass(frozen=True)
class Placement:
    x: float  # bottom-left corner of the stamp box, points, display coordinates
    y: float
    width: float
    height: float
    over_content: bool


# --- the shape of the stamp ----------------------------------------------------------------


def qr_size_mm(info: StampInfo) -> float:
    return (len(qr_modules(info.payload, error="m")) + 2 * QUIET_MODULES) * MODULE_MM


def text_width_mm(text: str) -> float:
    font = _font()
    scale = TEXT_MM / font.units_per_em
    return sum(font.advance(ch) for ch in text) * scale


def stamp_size_mm(info: StampInfo) -> tuple[float, float]:
    qr = qr_size_mm(info)
    return qr + TEXT_GAP_MM + max(text_width_mm(t) for t in info.lines), qr


# --- where it goes --------------------------------------------------------------------------


def ink_mask(image: Image.Image) -> np.ndarray:
    """True where there is ink, at about ANALYSIS_MM per pixel (the display orientation)."""
    gray = image if image.mode == "L" else image.convert("L")
    dpi = gray.info.get("dpi", (300, 300))[0] or 300
    factor = max(1, int(round(float(dpi) / 25.4 * ANALYSIS_MM)))
    small = gray.reduce(factor) if factor > 1 else gray
    return np.asarray(small) < INK_LEVEL


def place(mask: np.ndarray, page_w: float, page_h: float, size_mm: tuple[float, float], side: str) -> Placement:
    """The first blank box from the corner (right on recto, left on verso) inwards and upwards."""
    rows, cols = mask.shape
    px_per_pt_x, px_per_pt_y = cols / page_w, rows / page_h
    w_pt, h_pt = size_mm[0] * MM, size_mm[1] * MM
    edge, clear = EDGE_MM * MM, CLEAR_MM * MM
    integral = np.pad(mask.astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))

    def blank(x: float, y: float) -> bool:  # box with bottom-left (x, y) in points, y up
        c0, c1 = int((x - clear) * px_per_pt_x), int(np.ceil((x + w_pt + clear) * px_per_pt_x))
        r0, r1 = int((page_h - y - h_pt - clear) * px_per_pt_y), int(np.ceil((page_h - y + clear) * px_per_pt_y))
        c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, cols), min(r1, rows)
        return integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0] == 0

    step = 2 * MM
    corner_x = page_w - edge - w_pt if side == "recto" else edge
    xs = [corner_x + (-k if side == "recto" else k) * step for k in range(int((page_w / 2 - w_pt / 2) / step))]
    ys = [edge + k * step for k in range(int(page_h * BAND_SHARE / step))]
    for y in ys:
        for x in xs:
            if edge <= x <= page_w - edge - w_pt and blank(x, y):
                return Placement(x, y, w_pt, h_pt, over_content=False)
    return Placement(corner_x, edge, w_pt, h_pt, over_content=True)


# --- drawing ----------------------------------------------------------------------------------


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") or "0"


def qr_ops(payload: str, x: float, y: float) -> str:
    """QR modules as filled rectangles, one per horizontal run of dark modules."""
    dark = qr_modules(payload, error="m")
    m = MODULE_MM * MM
    ox, top = x + QUIET_MODULES * m, y + (len(dark) + QUIET_MODULES) * m
    rects = []
    for r, row in enumerate(dark):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                rects.append(f"{_n(ox + start * m)} {_n(top - (r + 1) * m)} {_n((c - start) * m)} {_n(m)} re")
            c += 1
    return "0 g\n" + "\n".join(rects) + "\nf\n"


def text_path_ops(text: str, x: float, y: float) -> str:
    """`text` as filled glyph outlines, baseline at (x, y), TEXT_MM tall."""
    font = _font()
    scale = TEXT_MM * MM / font.units_per_em
    out, pen_x = [], x
    for ch in text:
        out.append(font.outline(ch, pen_x, y, scale))
        pen_x += font.advance(ch) * scale
    return "0 g\n" + "".join(out)


def stamp_ops(info: StampInfo, placement: Placement) -> str:
    """The whole stamp at its placement (display coordinates, points)."""
    qr = qr_size_mm(info) * MM
    text_x = placement.x + qr + TEXT_GAP_MM * MM
    line_gap = placement.height / 2
    upper, lower = info.lines
    return (
        "q\n"
        + qr_ops(info.payload, placement.x, placement.y)
        + text_path_ops(upper, text_x, placement.y + line_gap + 1.2 * MM)
        + text_path_ops(lower, text_x, placement.y + 1.8 * MM)
        + "Q\n"
    )


# --- glyph outlines ---------------------------------------------------------------------------


class _OutlineFont:
    """Glyph outlines of the installed CJK font as PDF path operators."""

    def __init__(self, path: str) -> None:
        from fontTools.ttLib import TTFont

        self.ttf = TTFont(path, fontNumber=0, lazy=True)
        self.cmap = self.ttf.getBestCmap()
        self.glyphs = self.ttf.getGlyphSet()
        self.units_per_em = self.ttf["head"].unitsPerEm
        self._ops: dict[str, list[tuple]] = {}

    def _name(self, ch: str) -> str:
        return self.cmap.get(ord(ch)) or self.cmap.get(ord("?"), ".notdef")

    def advance(self, ch: str) -> int:
        return self.glyphs[self._name(ch)].width

    def outline(self, ch: str, x: float, y: float, scale: float) -> str:
        name = self._name(ch)
        if name not in self._ops:
            from fontTools.pens.recordingPen import DecomposingRecordingPen

            pen = DecomposingRecordingPen(self.glyphs)
            self.glyphs[name].draw(pen)
            self._ops[name] = pen.value
        return _path(self._ops[name], x, y, scale)


def _path(ops: list[tuple], x: float, y: float, s: float) -> str:
    pt = lambda p: f"{_n(x + p[0] * s)} {_n(y + p[1] * s)}"  # noqa: E731
    out, current = [], (0.0, 0.0)
    for op, args in ops:
        if op == "moveTo":
            out.append(f"{pt(args[0])} m")
            current = args[0]
        elif op == "lineTo":
            out.append(f"{pt(args[0])} l")
            current = args[0]
        elif op == "curveTo":
            for i in range(0, len(args) - 2, 3):
                out.append(f"{pt(args[i])} {pt(args[i + 1])} {pt(args[i + 2])} c")
            current = args[-1]
        elif op == "qCurveTo":
            current = _quadratic(out, pt, current, args)
        elif op in ("closePath", "endPath"):
            out.append("h")
    return ("\n".join(out) + "\nf\n") if out else ""


def _quadratic(out: list[str], pt, current: tuple, args: tuple) -> tuple:
    """TrueType quadratic B-spline (implied on-curve midpoints) as cubic Béziers."""
    points = list(args)
    if points[-1] is None:  # a closed contour of off-curve points only
        points = points[:-1]
        points.append(((points[0][0] + points[-1][0]) / 2, (points[0][1] + points[-1][1]) / 2))
    for i, q in enumerate(points[:-1]):
        end = points[-1] if i == len(points) - 2 else ((q[0] + points[i + 1][0]) / 2, (q[1] + points[i + 1][1]) / 2)
        c1 = (current[0] + 2 / 3 * (q[0] - current[0]), current[1] + 2 / 3 * (q[1] - current[1]))
        c2 = (end[0] + 2 / 3 * (q[0] - end[0]), end[1] + 2 / 3 * (q[1] - end[1]))
        out.append(f"{pt(c1)} {pt(c2)} {pt(end)} c")
        current = end
    return current


@lru_cache(maxsize=1)
def _font() -> _OutlineFont:
    return _OutlineFont(str(find_cjk_font()))
