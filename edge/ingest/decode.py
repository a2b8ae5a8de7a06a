"""Stage 1, decode: a claimed file → one `Page` per image it holds, in order.

The file is read once into memory; its bytes are what gets encrypted, so the
master is never re-encoded: a single JPEG/PNG/TIFF page is stored byte for
byte, a PDF page holding one full-page JPEG keeps that JPEG's bytes. Where a
source holds several pages (multi-page TIFF, PDF) each page is split out
losslessly (TIFF LZW, Group 4 for bilevel), and each page's `source_sha256` is
the hash of that page's own bytes.

Refused before anything is decoded: a file over the byte cap (never read at
all, so a 2 GB file cannot exhaust memory), an image over the pixel cap
(decompression bombs). Then every page is decoded completely — JPEG to its end
marker, every TIFF frame, every PDF page — so a truncated or damaged file
fails here as a whole and is quarantined rather than stored half-read.

PDF pages: exactly one upright DCT image covering the page → its JPEG bytes
unchanged, dpi from the image size against the MediaBox. Otherwise the page's
images (CCITT, Flate, JBIG2, or several strips at one resolution) are
extracted with pikepdf and laid onto the page losslessly. Text and vector
drawing on a scanned page (a scanner's OCR layer, a stamp) are not the scan
and are left out. A page with no image at all (a born-digital, vector-only
PDF) is refused as FILE_UNSUPPORTED: it is not a scan, and rasterising it
would invent a master the court never scanned.

For analysis only, each page is decoded once more cheaply: JPEG DCT scaling
straight to grey at half size (`draft`), about 16 ms for an A4 colour page.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import os
import struct
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pikepdf
from PIL import Image, ImageSequence
from pikepdf.models.image import ImageDecompressionError, NotExtractableError, UnsupportedImageTypeError

from juanzong.edge.crashpoints import crash_point
from juanzong.edge.ingest.context import Claimed, IngestContext, Page
from juanzong.shared.crypto import sha256_hex
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
)
_PIL_FORMATS = {"jpeg": ["JPEG"], "tiff": ["TIFF"], "png": ["PNG"]}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
# Never below 256 MiB; above it when one uncompressed page at the pixel cap
# (4 bytes a pixel) could be bigger. Scanner pages are 0.05-15 MB.
MIN_BYTE_CAP = 256 * 1024 * 1024
OVERSIZE_DIR = ".juanzong-oversize"  # where an unread oversized file is kept (see HotFolder.set_aside)
_TAIL = 64 * 1024  # end markers sit in the last bytes; zero padding after them is allowed
COVER = 0.97  # an image placed over ≥ 97 % of the MediaBox each way covers the page
_WRAPPERS = {"/ASCII85Decode", "/ASCIIHexDecode", "/FlateDecode"}  # lossless, around the DCT data


def byte_cap(max_pixels: int) -> int:
    return max(MIN_BYTE_CAP, 4 * max_pixels)


def sha256_file(path: Path, chunk: int = 1024 * 1024) -> str:
    """The hash of a file too big to hold in memory, read in 1 MB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sniff(head: bytes) -> str | None:
    return next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)


def jpeg_complete(raw: bytes) -> bool:
    """A JPEG ends with EOI (FF D9); scanners sometimes pad with zero bytes after it."""
    return raw.rstrip(b"\x00").endswith(b"\xff\xd9")


# --------------------------------------------------------------------------- completeness


def looks_complete(path: Path, cap: int = MIN_BYTE_CAP) -> bool:
    """Whether a settled file parses to its end, read without loading it whole.

    Used before claiming: a file that is still being written (a stalled SMB
    write keeps size and mtime still) is left alone. An oversized file counts
    as complete: decode refuses it without reading it.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > cap:
            return True
        fmt = sniff(f.read(16))
        if fmt == "tiff":
            return tiff_frame_count(f, size) is not None
        f.seek(max(0, size - _TAIL))
        tail = f.read()
    if fmt == "jpeg":
        return jpeg_complete(tail)
    if fmt == "png":
        return tail.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")
    if fmt == "pdf":
        return b"%%EOF" in tail[-1024:] and _pdf_opens(path)
    return False  # empty, or no known header yet: the grace period decides


def _pdf_opens(path: Path) -> bool:
    try:  # qpdf reads the xref and the page tree, not the image streams
        with pikepdf.open(path, attempt_recovery=False) as pdf:
            return all(page.mediabox is not None for page in pdf.pages)
    except Exception:  # any parse fault: not complete (yet); decode gives the reason
        return False


_TIFF_TYPES = {3: ("H", 2), 4: ("I", 4)}  # SHORT, LONG: what strip/tile offsets use
_EXTENT_TAGS = {273: "off", 279: "len", 324: "off", 325: "len"}  # strips and tiles
_TIFF_WIDTHS = {3: 2, 4: 4, 5: 8, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}  # else 1 byte


def tiff_frame_count(f: BinaryIO, size: int) -> int | None:
    """Number of IFDs if every IFD and every strip/tile lies inside the file, else None.

    Classic TIFF only; a BigTIFF returns 0 ("cannot tell") and the full decode
    decides. Reads only the directories, not the pixels: cheap enough to run on
    every settled file before it is claimed.
    """
    f.seek(0)
    head = f.read(8)
    if len(head) < 8 or head[:2] not in (b"II", b"MM"):
        return None
    order = "<" if head[:2] == b"II" else ">"
    if struct.unpack(order + "H", head[2:4])[0] != 42:
        return 0
    offset, seen = struct.unpack(order + "I", head[4:8])[0], set()
    while offset:
        if offset in seen or len(seen) > 10_000 or not _ifd_inside(f, size, order, offset):
            return None
        seen.add(offset)
        offset = _next_ifd(f, order, offset)
    return len(seen) or None


def _ifd_inside(f: BinaryIO, size: int, order: str, offset: int) -> bool:
    if offset + 2 > size:
        return False
    f.seek(offset)
    (count,) = struct.unpack(order + "H", f.read(2))
    if offset + 2 + 12 * count + 4 > size:
        return False
    extents: dict[str, list[int]] = {"off": [], "len": []}
    entries = f.read(12 * count)
    for i in range(count):
        tag, typ, n, value = struct.unpack(order + "HHI4s", entries[12 * i:12 * i + 12])
        width = n * _TIFF_WIDTHS.get(typ, 1)
        if width > 4 and struct.unpack(order + "I", value)[0] + width > size:
            return False  # a value stored after the directory (resolution, colour map) is cut
        if tag in _EXTENT_TAGS and typ in _TIFF_TYPES:
            values = _tiff_values(f, size, order, typ, n, value)
            if values is None:
                return False
            extents[_EXTENT_TAGS[tag]] += values
    ends = [o + n for o, n in zip(extents["off"], extents["len"])]
    return bool(ends) and max(ends) <= size


def _tiff_values(f: BinaryIO, size: int, order: str, typ: int, n: int, value: bytes) -> list[int] | None:
    code, width = _TIFF_TYPES[typ]
    if n * width <= 4:
        return list(struct.unpack(order + code * n, value[:n * width]))
    (at,) = struct.unpack(order + "I", value)
    if at + n * width > size:
        return None
    f.seek(at)
    return list(struct.unpack(f"{order}{n}{code}", f.read(n * width)))


def _next_ifd(f: BinaryIO, order: str, offset: int) -> int:
    f.seek(offset)
    (count,) = struct.unpack(order + "H", f.read(2))
    f.seek(offset + 2 + 12 * count)
    return struct.unpack(order + "I", f.read(4))[0]


# --------------------------------------------------------------------------- decode


def decode(claimed: Claimed, ctx: IngestContext) -> tuple[Page, ...]:
    name = claimed.source_name
    size, cap = claimed.path.stat().st_size, byte_cap(ctx.max_pixels)
    if size > cap:  # refused unread: the quarantine sets it aside without reading it either
        raise AppError(ErrorCode.FILE_SIZE_TOO_LARGE, name=name, size=_mb(size), limit=_mb(cap), kept=OVERSIZE_DIR)
    raw = claimed.path.read_bytes()
    crash_point("hash")
    if not raw:
        raise AppError(ErrorCode.FILE_EMPTY, name=name)
    fmt = sniff(raw[:16])
    if fmt is None or fmt not in ctx.profile.file_types:
        raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail=fmt or "未知格式")
    if fmt == "jpeg":
        return (_jpeg_page(claimed, 0, raw, ctx.max_pixels),)
    if fmt == "pdf":
        return _pdf_pages(claimed, raw, ctx.max_pixels)
    frames = tiff_frame_count(io.BytesIO(raw), len(raw)) if fmt == "tiff" else 0
    if frames is None:  # an IFD or a strip lies past the end: cut short
        raise AppError(ErrorCode.FILE_TRUNCATED, name=name)
    pages = _image_pages(claimed, raw, fmt, ctx.max_pixels)
    if frames and frames != len(pages):  # the decoder stopped early: never store part of a file
        raise AppError(ErrorCode.FILE_TRUNCATED, name=name, detail=f"{len(pages)}/{frames} 页")
    return pages


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def _image_pages(claimed: Claimed, raw: bytes, fmt: str, max_pixels: int) -> tuple[Page, ...]:
    """PNG/TIFF: a single image keeps the scanner's bytes; each frame of a multi-page
    TIFF becomes its own lossless TIFF. Frames become pages one at a time, so the
    full-size frames of a long TIFF are never all in memory together."""
    frames = _frames(raw, fmt, claimed.source_name, max_pixels)
    first, second = next(frames, None), next(frames, None)
    if first is None:
        raise AppError(ErrorCode.FILE_UNREADABLE, name=claimed.source_name, detail="没有图像")
    if second is None:
        return (_page(claimed, 0, raw, fmt, first),)
    return tuple(_page(claimed, i, _single_tiff(im), "tiff", im)
                 for i, im in enumerate(itertools.chain((first, second), frames)))


def _frames(raw: bytes, fmt: str, name: str, max_pixels: int) -> Iterator[Image.Image]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw), formats=_PIL_FORMATS[fmt])
            for frame in ImageSequence.Iterator(im):
                w, h = frame.size
                if w * h > max_pixels:
                    raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels=w * h, limit=max_pixels)
                frame.load()
                yield frame.copy()
    except AppError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels="?", limit=max_pixels) from exc
    except (OSError, ValueError, TypeError, SyntaxError, EOFError, struct.error) as exc:  # TypeError: PIL on a cut IFD
        raise _read_error(name, exc) from exc


def _read_error(name: str, exc: Exception) -> AppError:
    truncated = isinstance(exc, (EOFError, struct.error)) or "truncated" in str(exc).lower()
    if truncated:
        return AppError(ErrorCode.FILE_TRUNCATED, name=name, detail=str(exc))
    return AppError(ErrorCode.FILE_UNREADABLE, name=name, detail=str(exc) or type(exc).__name__)


def _jpeg_page(claimed: Claimed, index: int, raw: bytes, max_pixels: int, dpi: int | None = None) -> Page:
    """JPEG: the half-size grey decode reads the whole entropy-coded stream, so it
    is also the completeness check; a full-size decode would cost 40 ms more."""
    name = claimed.source_name
    if not jpeg_complete(raw):
        raise AppError(ErrorCode.FILE_TRUNCATED, name=name)
    try:
        im = Image.open(io.BytesIO(raw), formats=["JPEG"])
        w, h = im.size
        if w * h > max_pixels:
            raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels=w * h, limit=max_pixels)
        mode, header_dpi = im.mode, _dpi(im)
        im.draft("L", (w // 2, h // 2))
        half = im.convert("L")
    except AppError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise _read_error(name, exc) from exc
    if _grey_filled(half):
        raise AppError(ErrorCode.FILE_TRUNCATED, name=name)
    return _make(claimed, index, raw, "jpeg", (w, h), dpi or header_dpi, mode, half)


def _grey_filled(half: Image.Image, rows: int = 8) -> bool:
    """libjpeg meets an end marker before the last block and fills the rest of the
    image with flat mid-grey instead of failing: a file cut in the middle and
    closed again. A real scan's bottom rows are never exactly 128 everywhere."""
    band = half.crop((0, half.height - rows, half.width, half.height))
    return band.getextrema() == (128, 128)


def _single_tiff(frame: Image.Image, dpi: float | None = None) -> bytes:
    out = io.BytesIO()
    compression = "group4" if frame.mode == "1" else "tiff_lzw"
    dpi_pair = (dpi, dpi) if dpi else frame.info.get("dpi", (0, 0))
    frame.save(out, format="TIFF", compression=compression, dpi=dpi_pair)
    return out.getvalue()


def _page(claimed: Claimed, index: int, data: bytes, fmt: str, frame: Image.Image, dpi: int | None = None) -> Page:
    half = frame.convert("L").reduce(2)
    return _make(claimed, index, data, fmt, frame.size, dpi or _dpi(frame), frame.mode, half)


def _make(claimed: Claimed, index: int, data: bytes, fmt: str, size: tuple[int, int], dpi: int | None, mode: str, half: Image.Image) -> Page:
    w, h = size
    return Page(
        claimed=claimed,
        index=index,
        data=data,
        source_sha256=sha256_hex(data),
        source_size=len(data),
        fmt=fmt,
        width=w,
        height=h,
        dpi=dpi,
        mode=mode,
        half=half,
        page_id=new_id(Kind.PAGE),
    )


def _dpi(frame: Image.Image) -> int | None:
    dpi = frame.info.get("dpi")
    if not dpi or not dpi[0]:
        return None
    return int(round(min(float(dpi[0]), float(dpi[1] or dpi[0]))))


# --------------------------------------------------------------------------- PDF


def _pdf_pages(claimed: Claimed, raw: bytes, max_pixels: int) -> tuple[Page, ...]:
    """Every page, in order; any damaged page refuses the whole file."""
    name = claimed.source_name
    try:
        # no recovery: qpdf would otherwise rebuild a cut file's xref and hand back fewer pages
        with pikepdf.open(io.BytesIO(raw), attempt_recovery=False) as pdf:
            pages = tuple(_pdf_page(claimed, i, page, max_pixels) for i, page in enumerate(pdf.pages))
            damage = pdf.get_warnings()
    except AppError:
        raise
    except pikepdf.PasswordError as exc:
        raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail="PDF 已加密") from exc
    except (UnsupportedImageTypeError, NotExtractableError, NotImplementedError) as exc:
        raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail=f"PDF 图像无法无损提取（{exc}）") from exc
    except (pikepdf.PdfError, ImageDecompressionError, OSError, ValueError, KeyError, zlib.error) as exc:
        # qpdf's and the image decoders' errors: a damaged file (anything else is a bug: INGEST_FAILED)
        code = ErrorCode.FILE_UNREADABLE if b"%%EOF" in raw[-1024:] else ErrorCode.FILE_TRUNCATED
        raise AppError(code, name=name, detail=f"PDF 已损坏（{exc}）") from exc
    if damage:
        raise AppError(ErrorCode.FILE_UNREADABLE, name=name, detail=f"PDF 已损坏（{damage[0]}）")
    if not pages:
        raise AppError(ErrorCode.FILE_EMPTY, name=name)
    return pages


def _pdf_page(claimed: Claimed, index: int, page: pikepdf.Page, max_pixels: int) -> Page:
    name, number = claimed.source_name, index + 1
    placed = _placements(page, name, number)
    if not placed:
        raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail=f"第 {number} 页没有扫描图像（矢量或文字页）")
    for image, _ in placed:
        if image.width * image.height > max_pixels:
            raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels=image.width * image.height, limit=max_pixels)
    box = [float(v) for v in page.mediabox]
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    if len(placed) == 1 and rotate == 0 and (data := _jpeg_bytes(*placed[0], box)) is not None:
        image, _ = placed[0]
        dpi = round(min(image.width / ((box[2] - box[0]) / 72), image.height / ((box[3] - box[1]) / 72)))
        return _jpeg_page(claimed, index, data, max_pixels, dpi=dpi)
    canvas, dpi = _lay_out(placed, box, name, number)
    if rotate:  # /Rotate turns the page clockwise for display; transposes are lossless
        canvas = canvas.transpose({90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
                                   270: Image.Transpose.ROTATE_90}[rotate])
    return _page(claimed, index, _single_tiff(canvas, dpi), "tiff", canvas, dpi=round(dpi))


def _placements(page: pikepdf.Page, name: str, number: int) -> list[tuple[pikepdf.PdfImage, tuple[float, ...]]]:
    """Images the page's content draws directly, each with its transform (a b c d e f)."""
    xobjects = page.obj.get("/Resources", {}).get("/XObject", {})
    ctm, stack, out = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), [], []
    for operands, op in pikepdf.parse_content_stream(page):
        op = str(op)
        if op == "q":
            stack.append(ctm)
        elif op == "Q" and stack:
            ctm = stack.pop()
        elif op == "cm":
            ctm = _multiply(tuple(float(v) for v in operands), ctm)
        elif op == "INLINE IMAGE":
            raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail=f"第 {number} 页使用内嵌图像")
        elif op == "Do":
            xobj = xobjects.get(operands[0])
            if xobj is not None and xobj.get("/Subtype") == "/Image":
                out.append((_pdf_image(xobj, name, number), ctm))
            elif xobj is not None and _has_images(xobj):
                raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail=f"第 {number} 页的图像嵌在表单对象中")
    return out


def _pdf_image(xobj: pikepdf.Stream, name: str, number: int) -> pikepdf.PdfImage:
    if xobj.get("/ImageMask", False) or "/SMask" in xobj or "/Mask" in xobj:
        # layered (MRC) pages: a mask over a background cannot be split out without rendering
        raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail=f"第 {number} 页是分层（蒙版）图像")
    return pikepdf.PdfImage(xobj)


def _has_images(xobj: pikepdf.Object) -> bool:
    inner = xobj.get("/Resources", {}).get("/XObject", {})
    return any(v.get("/Subtype") == "/Image" or _has_images(v) for _, v in inner.items())


def _multiply(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2,
            e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


def _upright(ctm: tuple[float, ...]) -> bool:
    a, b, c, d, _, _ = ctm
    return a > 0 and d > 0 and abs(b) < 1e-6 and abs(c) < 1e-6


def _jpeg_bytes(image: pikepdf.PdfImage, ctm: tuple[float, ...], box: list[float]) -> bytes | None:
    """The scanner's JPEG, if the page is one plain DCT image, upright, over the whole page.

    A text-only wrapper filter (ASCII85 from reportlab, Flate) is undone; the
    DCT data itself is returned as written. A /Decode array or CMYK would make
    the bare JPEG look different from the PDF page: those are extracted instead.
    """
    obj = image.obj
    filters = obj.get("/Filter")
    filters = [str(f) for f in (filters if isinstance(filters, pikepdf.Array) else [filters])]
    plain = (filters[-1:] == ["/DCTDecode"] and set(filters[:-1]) <= _WRAPPERS
             and "/Decode" not in obj and obj.get("/ColorSpace") != "/DeviceCMYK")
    covers = _upright(ctm) and ctm[0] >= COVER * (box[2] - box[0]) and ctm[3] >= COVER * (box[3] - box[1])
    if not (plain and covers) or (len(filters) > 1 and "/DecodeParms" in obj):
        return None
    data = obj.read_raw_bytes()
    for wrapper in reversed(filters[:-1]):  # the first filter listed was applied last
        data = _UNWRAP[wrapper](data)
    return data


def _ascii85(data: bytes) -> bytes:
    body = b"".join(data.split()).removeprefix(b"<~").removesuffix(b"~>")
    return base64.a85decode(body)


_UNWRAP = {"/ASCII85Decode": _ascii85, "/FlateDecode": zlib.decompress,
           "/ASCIIHexDecode": lambda d: bytes.fromhex(d.decode("ascii").split(">")[0])}


def _lay_out(placed: list, box: list[float], name: str, number: int) -> tuple[Image.Image, float]:
    """The page's images at their common resolution, pixel for pixel (no resampling).

    One image is returned as it is; several (strips or tiles) are pasted onto a
    white page. Images at different resolutions, or rotated/skewed by the content
    stream, would need resampling: refused rather than silently altered.
    """
    if not all(_upright(ctm) for _, ctm in placed):
        raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail=f"第 {number} 页的图像经旋转或倾斜放置")
    if len(placed) == 1:  # as it is, even at 204×98 dpi (fax resolution): the dpi is the lower one
        image, ctm = placed[0]
        return image.as_pil_image(), min(image.width / ctm[0], image.height / ctm[3]) * 72
    scales = [s for img, ctm in placed for s in (img.width / ctm[0], img.height / ctm[3])]
    if max(scales) > min(scales) * 1.005:
        raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail=f"第 {number} 页的图像分辨率不一致")
    scale = scales[0]  # pixels per point
    images = [(img.as_pil_image(), ctm) for img, ctm in placed]
    mode = _common_mode([im.mode for im, _ in images])
    size = (round((box[2] - box[0]) * scale), round((box[3] - box[1]) * scale))
    canvas = Image.new(mode, size, "white")
    for im, (a, _, _, d, e, f) in images:
        canvas.paste(im.convert(mode), (round((e - box[0]) * scale), round((box[3] - f - d) * scale)))
    return canvas, scale * 72


def _common_mode(modes: list[str]) -> str:
    if len(set(modes)) == 1:
        return modes[0]
    return "L" if set(modes) <= {"1", "L"} else "RGB"
