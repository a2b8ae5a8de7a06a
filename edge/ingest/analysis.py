"""Analysis views of a decoded page: 8-bit grey, never clipped, never a crash.

Barcode reading and QC look at an 8-bit grey picture of the page; the stored
master is never touched. Every pixel format a scanner or a PDF tool writes
maps to grey here the way a viewer would show it:

- 16-bit grey (``I;16``): the high byte (``convert("L")`` would clip
  everything above 255 to white, so a 16-bit cover sheet would read as a
  blank page);
- 32-bit grey (``I``, what some Pillow versions give for 16-bit PNG) and float
  (``F``): scaled by their range to 0–255;
- alpha (``LA``, ``RGBA``, ``PA``, a palette with a transparent index): laid on
  white paper, as a viewer shows it;
- CIELAB: the L* channel (lightness) — Pillow has no LAB→RGB conversion;
- CMYK, YCbCr, HSV, palette, bilevel: Pillow's own conversion.

`grey_source` says whether the scan holds colour at all (grey and bitonal modes,
a palette of greys); `half_grey` reduces first where the mode allows, so a large colour page never
has a second full-size copy beside its decode.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Modes that hold no colour; a palette holds colour only if one of its entries is not grey.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
PALETTE_MODES = frozenset({"P", "PA"})
BAND_ROWS = 512  # even: bands reduce to the same rows as the whole page
_WHITE_PAPER_MODES = {"LA": "L", "La": "L", "PA": "RGB", "RGBA": "RGB", "RGBa": "RGB"}
_REDUCIBLE = {"L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr", "HSV", "LAB", "I", "F"}


def grey_mode(mode: str) -> bool:
    """A mode that cannot hold colour (grey, 16-bit grey, float, bitonal)."""
    return mode in GREY_MODES


def grey_source(im: Image.Image) -> bool:
    """The scan holds no colour: a grey or bitonal mode, or a palette of greys only
    (QC's colour_expected check reads this; a colour palette is colour)."""
    if im.mode in PALETTE_MODES:
        palette = im.getpalette() or []
        return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))
    return grey_mode(im.mode)


def grey(im: Image.Image) -> Image.Image:
    """The page as mode "L" at its own size."""
    mode = im.mode
    if mode == "L":
        return im
    if mode.startswith("I;16"):
        return _grey16(im)
    if mode in ("I", "F"):
        return _scaled(im)
    if mode == "LAB":
        return im.getchannel("L")
    if mode == "P" and "transparency" in im.info:
        return grey(im.convert("RGBA"))
    if mode in _WHITE_PAPER_MODES:
        return _on_white(im).convert("L")
    return im.convert("L")


def half_grey(im: Image.Image) -> Image.Image:
    """Grey at half size (what barcode stage 1 and QC read), made band by band so a
    large page never has a second full-size copy (16-bit, colour) beside its decode."""
    if im.height <= BAND_ROWS:
        return _half(im)
    out = Image.new("L", ((im.width + 1) // 2, (im.height + 1) // 2))
    for top in range(0, im.height, BAND_ROWS):
        band = im.crop((0, top, im.width, min(im.height, top + BAND_ROWS)))
        out.paste(_half(band), (0, top // 2))
    return out


class HalfGrey:
    """The half-size grey analysis image of a page decoded a band of whole rows at a
    time (a large strip TIFF, a large PDF Flate image); every band but the last has
    an even number of rows, so the bands reduce to the rows the whole page would."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.image = Image.new("L", ((size[0] + 1) // 2, (size[1] + 1) // 2))

    def add(self, top: int, band: Image.Image) -> None:
        self.image.paste(half_grey(band), (0, top // 2))


def _half(im: Image.Image) -> Image.Image:
    if im.mode in _REDUCIBLE and "transparency" not in im.info:
        return grey(im.reduce(2))
    return grey(im).reduce(2)


def _grey16(im: Image.Image) -> Image.Image:
    """The high byte of each 16-bit sample (numpy reads Pillow's I;16 variants in their byte order)."""
    return Image.fromarray((np.asarray(im) >> 8).astype(np.uint8))


def _band_extrema(im: Image.Image) -> tuple[float, float]:
    """(lowest, highest) sample of a one-band image."""
    low, high = im.getextrema()
    if isinstance(low, tuple) or isinstance(high, tuple):
        raise ValueError(f"{im.mode} has more than one band")
    return float(low), float(high)


def _scaled(im: Image.Image) -> Image.Image:
    low, high = _band_extrema(im)
    if im.mode == "F" and low >= 0 and high <= 1.0:
        top = 1.0  # normalised float samples
    elif low >= 0 and high <= 255:
        return im.convert("L")
    else:
        top = 65535.0 if high <= 65535 else high
    return im.point(lambda v: v * (255.0 / top)).convert("L")


def _on_white(im: Image.Image) -> Image.Image:
    colour = _WHITE_PAPER_MODES[im.mode]
    rgba = im.convert("RGBA") if colour == "RGB" else im.convert("LA").convert("RGBA")
    paper = Image.new("RGBA", rgba.size, "white")
    return Image.alpha_composite(paper, rgba).convert(colour)
