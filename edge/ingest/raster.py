"""Image files (JPEG, PNG, TIFF/BigTIFF, JPEG 2000) → pages, one at a time.

A single-image file is stored byte for byte. A multi-page TIFF is split at the
byte level: each page becomes a one-page TIFF holding that page's own strips
or tiles, so the scanner's compression (G4, JPEG, LZW …) is kept and nothing
is re-encoded; only where that cannot be done faithfully (old-style JPEG keeps
its tables behind offsets) is the page decoded and re-encoded losslessly.
Thumbnail and mask directories (NewSubfileType) are not pages.

Each page is decoded completely once — so a damaged one fails here, before
anything is stored — and only the half-size grey analysis image is kept; the
full-size decode is released before the next page is read.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import replace

from PIL import Image

from juanzong.edge.ingest import analysis, tiffdir
from juanzong.edge.ingest.context import Claimed, Page, new_page
from juanzong.edge.ingest.faults import MODE_NAMES, TIFF_COMPRESSIONS, TIFF_PHOTOMETRICS, UNSUPPORTED_MODES, megabytes, pillow_error, refuse
from juanzong.shared.crypto import sha256_hex
from juanzong.shared.errors import AppError, ErrorCode

_PIL_FORMATS = {"jpeg": ["JPEG"], "tiff": ["TIFF"], "png": ["PNG"], "jp2": ["JPEG2000"]}
# bytes Pillow holds per pixel for a decoded image of each mode (RGB is stored as RGBX)
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
OLD_JPEG = 6
DECODE_BUDGET = 288 * 1024 * 1024  # one decoded page; with the ~70 MB process and its analysis copy < 400 MB
BAND_ABOVE = 48 * 1024 * 1024  # a strip TIFF page bigger than this decoded is read a band of strips at a time


def decoded_bytes(mode: str, size: tuple[int, int]) -> int:
    return size[0] * size[1] * _BYTES_PER_PIXEL.get(mode, 4)


def check_budget(name: str, number: int, mode: str, size: tuple[int, int], max_pixels: int) -> None:
    """Refuse before decoding: over the profile's pixel cap, or over the per-page memory budget."""
    pixels = size[0] * size[1]
    if pixels > max_pixels:
        raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels=pixels, limit=max_pixels)
    need = decoded_bytes(mode, size)
    if need > DECODE_BUDGET:
        raise AppError(ErrorCode.FILE_MEMORY_LIMIT, name=name, page=number, need=megabytes(need), limit=megabytes(DECODE_BUDGET))


def open_image(data: bytes, fmt: str, name: str, what: str = "") -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=_PIL_FORMATS[fmt])
    except Exception as exc:  # any decoder failure is a fact about the file
        raise pillow_error(name, exc, what=what) from exc
    if im.mode in UNSUPPORTED_MODES:
        raise AppError(ErrorCode.FILE_PIXEL_FORMAT, name=name, detail=MODE_NAMES.get(im.mode, im.mode))
    return im


def load(im: Image.Image, name: str, what: str = "") -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # libtiff's unknown-tag chatter; failures raise
            im.load()
    except AppError:
        raise
    except Exception as exc:
        raise pillow_error(name, exc, what=what) from exc
    return im


# --------------------------------------------------------------------------- single images


def single_image(claimed: Claimed, raw: bytes, fmt: str, max_pixels: int) -> Iterator[Page]:
    """PNG or JPEG 2000: one image, stored as the scanner wrote it."""
    name = claimed.source_name
    im = open_image(raw, fmt, name)
    if getattr(im, "n_frames", 1) > 1:
        raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail="多帧（动画）图像")
    check_budget(name, 1, im.mode, im.size, max_pixels)
    if fmt == "jp2":  # openjpeg decodes straight to half size: all of the codestream, a quarter of the memory
        yield jp2_page(claimed, 0, raw, im)
        return
    yield analysed(claimed, 0, raw, fmt, im)


def jp2_page(claimed: Claimed, index: int, data: bytes, im: Image.Image, dpi: int | None = None) -> Page:
    size, mode = im.size, im.mode
    im.reduce = 1  # type: ignore[method-assign,assignment]  # Jpeg2KImageFile's resolution level (half size) shadows Image.reduce
    load(im, claimed.source_name, "JPEG 2000")
    half = analysis.grey(im)
    return new_page(claimed, index, data, "jp2", size, dpi or header_dpi(im), mode, half, grey_source=analysis.grey_source(im))


def analysed(claimed: Claimed, index: int, data: bytes, fmt: str, im: Image.Image, what: str = "", dpi: int | None = None) -> Page:
    name = claimed.source_name
    load(im, name, what)
    try:
        half = analysis.half_grey(im)
    except (ValueError, OSError) as exc:  # a mode the analysis cannot map: a fact about the file
        raise pillow_error(name, exc, what=what or MODE_NAMES.get(im.mode, im.mode)) from exc
    return new_page(claimed, index, data, fmt, im.size, dpi or header_dpi(im), im.mode, half, grey_source=analysis.grey_source(im))


def header_dpi(im: Image.Image) -> int | None:
    dpi = im.info.get("dpi")
    if dpi is None:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1] or dpi[0])
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    if not x > 0:
        return None
    if im.info.get("resolution_unit") == 3:  # TIFF in centimetres
        x, y = x * 2.54, y * 2.54
    return int(round(min(x, y)))


# --------------------------------------------------------------------------- JPEG


def jpeg_complete(raw: bytes) -> bool:
    """A JPEG ends with EOI (FF D9); scanners sometimes pad with zero bytes after it."""
    return raw.rstrip(b"\x00").endswith(b"\xff\xd9")


def jpeg_page(claimed: Claimed, index: int, raw: bytes, max_pixels: int, dpi: int | None = None) -> Page:
    """JPEG: the half-size decode (DCT scaling) reads the whole entropy-coded
    stream, so it is also the completeness check; a full-size decode would cost
    40 ms more. CMYK and Adobe-inverted CMYK scale too, then map to grey."""
    name = claimed.source_name
    if not jpeg_complete(raw):
        raise AppError(ErrorCode.FILE_TRUNCATED, name=name)
    im = open_image(raw, "jpeg", name)
    (w, h), mode = im.size, im.mode
    if w * h > max_pixels:
        raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels=w * h, limit=max_pixels)
    header = header_dpi(im)
    try:
        im.draft("L" if mode in ("RGB", "YCbCr", "L") else mode, (w // 2, h // 2))
        load(im, name, "JPEG")
        half = analysis.grey(im)
        if half.width > w // 2 + 1:
            half = half.reduce(2)
    except AppError:
        raise
    except (OSError, ValueError) as exc:
        raise pillow_error(name, exc, what="JPEG") from exc
    if _grey_filled(half):
        raise AppError(ErrorCode.FILE_TRUNCATED, name=name)
    return new_page(claimed, index, raw, "jpeg", (w, h), dpi or header, mode, half, grey_source=analysis.grey_mode(mode))


def _grey_filled(half: Image.Image, rows: int = 8) -> bool:
    """libjpeg meets an end marker before the last block and fills the rest of the
    image with flat mid-grey instead of failing: a file cut in the middle and
    closed again. A real scan's bottom rows are never exactly 128 everywhere."""
    band = half.crop((0, half.height - rows, half.width, half.height))
    return band.getextrema() == (128, 128)


# --------------------------------------------------------------------------- TIFF


def tiff_pages(claimed: Claimed, raw: bytes, max_pixels: int) -> Iterator[Page]:
    """Every page directory of a TIFF or BigTIFF, in order."""
    name = claimed.source_name
    try:
        lay, dirs = tiffdir.directories(io.BytesIO(raw), len(raw))
    except (tiffdir.TiffCut, ValueError) as exc:
        raise refuse(ErrorCode.FILE_TRUNCATED, name, exc) from exc
    pages = [d for d in dirs if tiffdir.is_page(d, lay.order)] or dirs[:1]
    for d in pages:  # every page is checked before any is decoded
        _check_directory(name, lay, d, pages.index(d) + 1, max_pixels)
    if len(pages) == 1 and len(dirs) == 1:
        yield _tiff_page(claimed, 0, raw, raw, 0, lay, pages[0], raw=raw)
        return
    for index, d in enumerate(pages):
        split = tiffdir.split_page(raw, lay, d) if d.get(tiffdir.COMPRESSION, lay.order) != OLD_JPEG else None
        if split is not None:
            yield _tiff_page(claimed, index, split, split, 0, lay, d, raw=raw)
        else:
            yield _reencoded(claimed, index, raw, dirs.index(d), lay, d)


def describe(lay: tiffdir.Layout, d: tiffdir.Directory) -> tuple[str, str]:
    """(compression, colour model) in Chinese, for reasons."""
    comp = d.get(tiffdir.COMPRESSION, lay.order, 1)
    photo = d.get(tiffdir.PHOTOMETRIC, lay.order, 1)
    bits = d.get(tiffdir.BITS, lay.order, 1)
    compression = TIFF_COMPRESSIONS.get(comp, f"TIFF 压缩方式 {comp}")
    colour = f"{bits} 位{TIFF_PHOTOMETRICS.get(photo, f'色彩模型 {photo}')}"
    return compression, colour


def _check_directory(name: str, lay: tiffdir.Layout, d: tiffdir.Directory, number: int, max_pixels: int) -> None:
    width = d.get(256, lay.order)
    height = d.get(257, lay.order)
    if width * height > max_pixels:
        raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels=width * height, limit=max_pixels)
    photo = d.get(tiffdir.PHOTOMETRIC, lay.order, 1)
    if photo in (9, 10, 32803, 32844, 32845, 34892):
        raise AppError(ErrorCode.FILE_PIXEL_FORMAT, name=name, detail=describe(lay, d)[1])
    need = _tiff_decoded_bytes(lay, d)
    if need > DECODE_BUDGET and not tiffdir.bandable(lay, d):
        raise AppError(ErrorCode.FILE_MEMORY_LIMIT, name=name, page=number, need=megabytes(need), limit=megabytes(DECODE_BUDGET))


def _tiff_decoded_bytes(lay: tiffdir.Layout, d: tiffdir.Directory) -> int:
    samples, bits = d.get(tiffdir.SAMPLES, lay.order, 1), d.get(tiffdir.BITS, lay.order, 1)
    per_pixel = 1 if bits <= 8 and samples == 1 else (2 if samples == 1 else 4)
    return d.get(256, lay.order) * d.get(257, lay.order) * per_pixel


def _tiff_page(
    claimed: Claimed,
    index: int,
    data: bytes,
    image_bytes: bytes,
    frame: int,
    lay: tiffdir.Layout,
    d: tiffdir.Directory,
    raw: bytes | None = None,
) -> Page:
    compression, colour = describe(lay, d)
    if d.get(tiffdir.COMPRESSION, lay.order) == OLD_JPEG:
        return _old_jpeg_page(claimed, index, data, lay, d, compression)
    if _tiff_decoded_bytes(lay, d) > BAND_ABOVE:
        bands = tiffdir.strip_bands(raw if raw is not None else image_bytes, lay, d, analysis.BAND_ROWS)
        if bands:
            return _banded_page(claimed, index, data, bands, (d.get(256, lay.order), d.get(257, lay.order)), f"{compression}，{colour}")
    im = open_image(image_bytes, "tiff", claimed.source_name, what=f"{compression}，{colour}")
    if frame:
        im.seek(frame)
    return analysed(claimed, index, data, "tiff", im, what=f"{compression}，{colour}")


def _banded_page(claimed: Claimed, index: int, data: bytes, bands: list[tuple[int, bytes]], size: tuple[int, int], what: str) -> Page:
    """A large strip TIFF decoded a band of whole strips at a time: every strip is
    decoded (a damaged one fails the file), the full page never is in memory at once."""
    half = analysis.HalfGrey(size)
    mode, dpi, grey = "", None, True
    for top, band in bands:
        im = load(open_image(band, "tiff", claimed.source_name, what=what), claimed.source_name, what)
        mode, dpi, grey = mode or im.mode, dpi or header_dpi(im), grey and analysis.grey_source(im)
        half.add(top, im)
        im.close()
    return new_page(claimed, index, data, "tiff", size, dpi, mode, half.image, grey_source=grey)


def _old_jpeg_page(claimed: Claimed, index: int, data: bytes, lay: tiffdir.Layout, d: tiffdir.Directory, compression: str) -> Page:
    """Old-style JPEG (compression 6): Pillow's libtiff has no decoder for it (nor have
    most readers), but the common variant keeps a whole JFIF stream behind
    JPEGInterchangeFormat. That stream, unchanged, is the page: the scanner's JPEG
    data in a container every reader opens (as a PDF page's JPEG is unwrapped)."""
    start, length = d.get(tiffdir.JPEG_IF_OFFSET, lay.order), d.get(tiffdir.JPEG_IF_LENGTH, lay.order)
    if not (start and length):
        raise AppError(ErrorCode.FILE_COMPRESSION, name=claimed.source_name, detail=f"{compression}，无完整 JPEG 数据流")
    tiff_dpi = header_dpi(open_image(data, "tiff", claimed.source_name, what=compression))
    return jpeg_page(claimed, index, data[start : start + length], 1 << 62, dpi=tiff_dpi)


def _reencoded(claimed: Claimed, index: int, raw: bytes, frame: int, lay: tiffdir.Layout, d: tiffdir.Directory) -> Page:
    """A page that cannot be split byte for byte: decoded, then kept losslessly."""
    compression, colour = describe(lay, d)
    what = f"{compression}，{colour}"
    im = open_image(raw, "tiff", claimed.source_name, what=what)
    try:
        im.seek(frame)
    except EOFError as exc:
        raise refuse(ErrorCode.FILE_TRUNCATED, claimed.source_name, exc) from exc
    load(im, claimed.source_name, what)
    page = analysed(claimed, index, b"", "tiff", im, what=what)
    data = lossless_tiff(im)
    return replace(page, data=data, source_sha256=sha256_hex(data), source_size=len(data))


def lossless_tiff(im: Image.Image, dpi: float | None = None) -> bytes:
    out = io.BytesIO()
    compression = "group4" if im.mode == "1" else "tiff_lzw"
    dpi_pair = (dpi, dpi) if dpi else im.info.get("dpi", (0, 0))
    im.save(out, format="TIFF", compression=compression, dpi=dpi_pair)
    return out.getvalue()
