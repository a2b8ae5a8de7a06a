"""A large Flate image over a whole PDF page, decoded a band of rows at a time.

The master is the image stream's compressed bytes, untouched, in the container
that reads them as they are: a PNG (IDAT) for PNG predictors 10–15, whose rows
already carry PNG's filter byte; a one-strip Deflate TIFF for no predictor or
TIFF predictor 2. Only the analysis image is made from the pixels: the stream
is inflated in pieces, the predictor undone row by row (a PNG row needs only
the row before it), and each band reduced into the half-size grey image the
way a large strip TIFF is (`analysis.HalfGrey`). The full page is never in
memory at once.

Only 8-bit DeviceGray/DeviceRGB without /Decode, masks or other filters take
this path; anything else stays with the ordinary decode and its memory budget.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pikepdf
from PIL import Image

from juanzong.edge.ingest import analysis, tiffdir
from juanzong.edge.ingest.context import Claimed, Page, new_page
from juanzong.shared.errors import AppError, ErrorCode

_SPACES = {"/DeviceGray": 1, "/DeviceRGB": 3}
_PNG_PREDICTORS = range(10, 16)
_CHUNK = 1024 * 1024  # compressed bytes fed, and most bytes inflated, per step
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class FlateImage:
    """What the band decoder needs to know about one image stream."""

    width: int
    height: int
    colors: int
    predictor: int  # 1 none, 2 TIFF horizontal differencing, 10–15 PNG (a filter byte per row)

    @property
    def mode(self) -> str:
        return "L" if self.colors == 1 else "RGB"

    @property
    def stride(self) -> int:
        return self.width * self.colors

    @property
    def row_bytes(self) -> int:
        return self.stride + (1 if self.predictor in _PNG_PREDICTORS else 0)


def describe(obj: object) -> FlateImage | None:
    """The stream as a band-decodable Flate image, or None where the ordinary decode must do."""
    if not isinstance(obj, pikepdf.Stream) or obj.get("/Filter") != pikepdf.Name.FlateDecode:
        return None
    if any(key in obj for key in ("/Decode", "/SMask", "/Mask", "/ImageMask", "/SMaskInData")):
        return None
    space = obj.get("/ColorSpace")
    colors = _SPACES.get(str(space)) if isinstance(space, pikepdf.Name) else None
    if colors is None or int(obj.get("/BitsPerComponent", 0)) != 8:
        return None
    width, height = int(obj.get("/Width", 0)), int(obj.get("/Height", 0))
    parms = obj.get("/DecodeParms", pikepdf.Dictionary())
    if not isinstance(parms, pikepdf.Dictionary):
        return None
    predictor = int(parms.get("/Predictor", 1))
    if predictor == 1:
        return FlateImage(width, height, colors, 1) if width > 0 and height > 0 else None
    same = int(parms.get("/Colors", 1)) == colors and int(parms.get("/BitsPerComponent", 8)) == 8 and int(parms.get("/Columns", 1)) == width
    if not same or (predictor != 2 and predictor not in _PNG_PREDICTORS) or width <= 0 or height <= 0:
        return None
    return FlateImage(width, height, colors, predictor)


def page(claimed: Claimed, index: int, obj: pikepdf.Stream, image: FlateImage, dpi: float) -> Page:
    """The page: master = the stream bytes untouched in a PNG or TIFF; analysis image band by band."""
    raw = obj.read_raw_bytes()
    half = analysis.HalfGrey((image.width, image.height))
    for top, band in bands(raw, image, claimed.source_name):
        half.add(top, band)
    master, fmt = (png_master(raw, image, dpi), "png") if image.predictor in _PNG_PREDICTORS else (tiff_master(raw, image, dpi), "tiff")
    return new_page(
        claimed, index, master, fmt, (image.width, image.height), round(dpi), image.mode, half.image, grey_source=image.colors == 1
    )


def bands(raw: bytes, image: FlateImage, name: str, rows: int = analysis.BAND_ROWS) -> Iterator[tuple[int, Image.Image]]:
    """(first row, decoded band) down the image; a stream that ends early is a damaged file."""
    pieces, pending, previous = _inflate(raw), bytearray(), bytes(image.stride)
    for top in range(0, image.height, rows):
        count = min(rows, image.height - top)
        need = count * image.row_bytes
        while len(pending) < need:
            piece = next(pieces, None)
            if piece is None:
                raise AppError(ErrorCode.FILE_UNREADABLE, name=name, detail="PDF 图像数据不完整")
            pending += piece
        data = bytes(pending[:need])
        del pending[:need]
        band = _unpredict(data, count, image, previous, name)
        previous = band.crop((0, count - 1, image.width, count)).tobytes()
        yield top, band


def _inflate(raw: bytes) -> Iterator[bytes]:
    """The inflated stream in pieces of at most _CHUNK bytes (a small bomb never expands at once)."""
    inflater = zlib.decompressobj()
    for start in range(0, len(raw), _CHUNK):
        data = raw[start : start + _CHUNK]
        while data and not inflater.eof:
            yield inflater.decompress(data, _CHUNK)
            data = inflater.unconsumed_tail
        if inflater.eof:
            return


def _unpredict(data: bytes, count: int, image: FlateImage, previous: bytes, name: str) -> Image.Image:
    size = (image.width, count)
    if image.predictor == 1:
        return Image.frombytes(image.mode, size, data)
    if image.predictor == 2:  # each sample is the difference to the one on its left, mod 256
        rows = np.frombuffer(data, np.uint8).reshape(count, image.width, image.colors)
        return Image.frombytes(image.mode, size, np.cumsum(rows, axis=1, dtype=np.uint8).tobytes())
    return _png_rows(data, count, image, previous, name)


def _png_rows(data: bytes, count: int, image: FlateImage, previous: bytes, name: str) -> Image.Image:
    """PNG-filtered rows undone by Pillow's PNG decoder: the previous row (unfiltered,
    filter byte 0) goes first so the band's first row has what Up/Average/Paeth read."""
    body = zlib.compress(b"\x00" + previous + data, 0)
    png = _png(image.width, count + 1, image.colors, 0.0, body)
    try:
        im = Image.open(io.BytesIO(png), formats=["PNG"])
        im.load()
    except (OSError, ValueError, SyntaxError) as exc:  # a filter byte outside 0–4: damaged data
        raise AppError(ErrorCode.FILE_UNREADABLE, name=name, detail="PDF 图像数据已损坏") from exc
    return im.crop((0, 1, image.width, count + 1))


def png_master(raw: bytes, image: FlateImage, dpi: float) -> bytes:
    return _png(image.width, image.height, image.colors, dpi, raw)


def _png(width: int, height: int, colors: int, dpi: float, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if colors == 1 else 2, 0, 0, 0)
    out = _PNG_SIGNATURE + _chunk(b"IHDR", header)
    if dpi > 0:
        per_metre = round(dpi / 0.0254)
        out += _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
    return out + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))


def tiff_master(raw: bytes, image: FlateImage, dpi: float) -> bytes:
    """A one-strip Deflate TIFF (compression 8, the same zlib data) around the stream bytes."""
    order = "<"

    def short(tag: int, *values: int) -> tiffdir.Entry:
        return tiffdir.Entry(tag, 3, len(values), struct.pack(f"{order}{len(values)}H", *values))

    def long(tag: int, value: int) -> tiffdir.Entry:
        return tiffdir.Entry(tag, 4, 1, struct.pack(order + "I", value))

    entries = [
        long(256, image.width),
        long(257, image.height),
        short(tiffdir.BITS, *([8] * image.colors)),
        short(tiffdir.COMPRESSION, 8),
        short(tiffdir.PHOTOMETRIC, 1 if image.colors == 1 else 2),
        long(tiffdir.STRIP_OFFSETS, 8),
        short(tiffdir.SAMPLES, image.colors),
        long(278, image.height),
        long(tiffdir.STRIP_COUNTS, len(raw)),
        *tiffdir.resolution_entries(dpi, order),
        short(284, 1),
    ]
    if image.predictor == 2:
        entries.append(short(317, 2))
    entries.sort(key=lambda e: e.tag)
    return bytes(tiffdir.write_directory(bytearray(b"II*\x00\x00\x00\x00\x00") + raw, order, entries))
