"""The invisible OCR text layer of a dual-layer (双层) PDF.

Technique (tesseract's pdfrenderer, OCRmyPDF 17's renderer, see the reference
notes): one `BT … ET` block per recognised line, text render mode 3
(invisible), horizontal scaling `Tz` so the line spans its OCR box, and an
**embedded** glyph-less font so extraction never depends on the reader's CJK
language pack:

- a Type0 font, encoding Identity-H: the 2-byte codes are the UTF-16 code
  units of the text (BMP only), so the CIDs are the code points;
- a CIDFontType2 whose `CIDToGIDMap` sends every CID to glyph 1 of a tiny
  TrueType font with one empty glyph (GID 0 upsets some viewers);
- widths: 1000 units for CJK and full-width forms, 500 for the rest;
- a ToUnicode CMap mapping every code back to its code point.

A line is one string shown with one `Tj`, its glyphs back to back: there is no
gap for an extractor to turn into a space, so pdftotext, pypdf and pdfminer.six
return Chinese without the spaces between characters that OCRmyPDF users have
complained about since 2021. Font size = box height, ascent 0.88 / descent
0.12 of the size, so an extractor's glyph box is the OCR box.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from functools import lru_cache

import pikepdf

ASCENT, DESCENT = 880, -120
CJK_WIDTH, OTHER_WIDTH = 1000, 500
# code point ranges drawn full width (1000 units) in Chinese print
_WIDE = (
    (0x1100, 0x115F),
    (0x2E80, 0x303E),
    (0x3041, 0x33FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA000, 0xA4CF),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFF60),
    (0xFFE0, 0xFFE6),
)
FONT_RESOURCE = "/JZOcr"


@dataclass(frozen=True)
class TextLine:
    """One recognised line: its text and its box in image pixels (top-left origin)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0


@dataclass(frozen=True)
class PageText:
    """What OCR found on one page image of `width` × `height` pixels."""

    width: int
    height: int
    lines: tuple[TextLine, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def char_width(cp: int) -> int:
    return CJK_WIDTH if any(lo <= cp <= hi for lo, hi in _WIDE) else OTHER_WIDTH


def encodable(text: str) -> str:
    """BMP characters only (Identity-H codes are UTF-16 units); control characters dropped."""
    return "".join(c for c in text if 0x20 <= ord(c) <= 0xFFFF and not 0xD800 <= ord(c) <= 0xDFFF)


# --- the font ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def glyphless_ttf() -> bytes:
    """A TrueType font with .notdef and one empty glyph (GID 1), 1000 units/em."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "blank"])
    fb.setupCharacterMap({0x20: "blank"})
    empty = TTGlyphPen(None).glyph()
    fb.setupGlyf({".notdef": empty, "blank": TTGlyphPen(None).glyph()})
    fb.setupHorizontalMetrics({".notdef": (OTHER_WIDTH, 0), "blank": (CJK_WIDTH, 0)})
    fb.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    fb.setupNameTable({"familyName": "JuanzongGlyphless", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=ASCENT, sTypoDescender=DESCENT, usWinAscent=ASCENT, usWinDescent=-DESCENT, sxHeight=500, sCapHeight=700)
    fb.setupPost()
    out = io.BytesIO()
    fb.font.save(out)
    return out.getvalue()


@lru_cache(maxsize=1)
def to_unicode_cmap() -> bytes:
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256) if not 0xD8 <= hi <= 0xDF]
    chunks = [ranges[i : i + 100] for i in range(0, len(ranges), 100)]
    body = "".join(f"{len(c)} beginbfrange\n" + "\n".join(c) + "\nendbfrange\n" for c in chunks)
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{body}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def _widths() -> pikepdf.Array:
    items: list = []
    for lo, hi in _WIDE:
        items += [lo, hi, CJK_WIDTH]
    return pikepdf.Array(items)


def add_font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """The Type0 font object, added once per document and shared by every page."""
    font_file = pdf.make_stream(glyphless_ttf())
    font_file.Length1 = len(glyphless_ttf())
    cid_to_gid = pdf.make_stream(zlib.compress(b"\x00\x01" * 65536, 9))
    cid_to_gid.Filter = pikepdf.Name.FlateDecode
    descriptor = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor,
            FontName=pikepdf.Name("/JuanzongGlyphless"),
            Flags=5,
            FontBBox=pikepdf.Array([0, DESCENT, CJK_WIDTH, ASCENT]),
            ItalicAngle=0,
            Ascent=ASCENT,
            Descent=DESCENT,
            CapHeight=700,
            StemV=80,
            FontFile2=font_file,
        )
    )
    cid_font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.CIDFontType2,
            BaseFont=pikepdf.Name("/JuanzongGlyphless"),
            CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0),
            FontDescriptor=descriptor,
            DW=OTHER_WIDTH,
            W=_widths(),
            CIDToGIDMap=cid_to_gid,
        )
    )
    return pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type0,
            BaseFont=pikepdf.Name("/JuanzongGlyphless"),
            Encoding=pikepdf.Name("/Identity-H"),
            DescendantFonts=pikepdf.Array([cid_font]),
            ToUnicode=pdf.make_stream(to_unicode_cmap()),
        )
    )


# --- the content stream -----------------------------------------------------------------------


def _num(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


def line_ops(line: TextLine, scale: float, page_height: float) -> str:
    """One line: font size = box height, baseline at the box bottom + descent, Tz to the box width."""
    text = encodable(line.text)
    if not text or line.x1 <= line.x0 or line.y1 <= line.y0:
        return ""
    size = (line.y1 - line.y0) * scale
    natural = sum(char_width(ord(c)) for c in text) / 1000 * size
    tz = 100 * (line.x1 - line.x0) * scale / natural
    x, y = line.x0 * scale, page_height - line.y1 * scale - DESCENT / 1000 * size
    hexcodes = text.encode("utf-16-be").hex().upper()
    return f"BT\n3 Tr\n{FONT_RESOURCE} {_num(size)} Tf\n{_num(tz)} Tz\n1 0 0 1 {_num(x)} {_num(y)} Tm\n<{hexcodes}> Tj\nET\n"


def text_ops(page_text: PageText, page_width: float, page_height: float) -> str:
    """All lines of a page, in display coordinates of a `page_width` × `page_height` pt page."""
    scale = page_width / page_text.width
    return "".join(line_ops(line, scale, page_height) for line in page_text.lines)
