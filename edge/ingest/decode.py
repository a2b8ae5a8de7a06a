"""Stage 1, decode: a claimed file → one `Page` per image it holds.

The file is read once into memory; its bytes are what gets encrypted, so the
master is never re-encoded (a single JPEG/PNG/TIFF page is stored byte for byte;
a multi-page TIFF is split losslessly, one page per image). The header is
checked against the pixel cap before any pixel is decoded (decompression
bombs), and the image is decoded completely: a truncated file fails here and is
quarantined rather than stored half-read.

For analysis only, the page is decoded once more cheaply: JPEG DCT scaling
straight to grey at half size (`draft`), about 16 ms for an A4 colour page.
"""

from __future__ import annotations

import io
import warnings
from PIL import Image, ImageSequence

from edge.crashpoints import crash_point
from edge.ingest.context import Claimed, IngestContext, Page
from shared.crypto import sha256_hex
from shared.errors import AppError, ErrorCode
from shared.ids import Kind, new_id

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
)
_PIL_FORMATS = {"jpeg": ["JPEG"], "tiff": ["TIFF"], "png": ["PNG"]}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def sniff(head: bytes) -> str | None:
    return next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)


def jpeg_complete(raw: bytes) -> bool:
    """A JPEG ends with EOI (FF D9); scanners sometimes pad with zero bytes after it."""
    return raw.rstrip(b"\x00").endswith(b"\xff\xd9")


def looks_complete(raw: bytes) -> bool:
    """Cheap end-marker check used before claiming a file that is still settling."""
    fmt = sniff(raw[:16])
    if fmt == "jpeg":
        return jpeg_complete(raw)
    if fmt == "png":
        return raw.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")
    if fmt == "pdf":
        return b"%%EOF" in raw[-1024:]
    return fmt is not None  # TIFF has no end marker: the full decode decides


def decode(claimed: Claimed, ctx: IngestContext) -> tuple[Page, ...]:
    raw = claimed.path.read_bytes()
    crash_point("hash")
    name = claimed.source_name
    if not raw:
        raise AppError(ErrorCode.FILE_EMPTY, name=name)
    fmt = sniff(raw[:16])
    if fmt is None or fmt not in ctx.profile.file_types or fmt == "pdf":
        raise AppError(ErrorCode.FILE_UNSUPPORTED, name=name, detail=fmt or "未知格式")
    if fmt == "jpeg":
        return (_jpeg_page(claimed, raw, ctx.max_pixels),)
    images = _open_frames(raw, fmt, name, ctx.max_pixels)
    if len(images) == 1:
        return (_page(claimed, 0, raw, fmt, images[0]),)
    return tuple(_page(claimed, i, _single_tiff(im), "tiff", im) for i, im in enumerate(images))


def _open_frames(raw: bytes, fmt: str, name: str, max_pixels: int) -> list[Image.Image]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw), formats=_PIL_FORMATS[fmt])
            frames = []
            for frame in ImageSequence.Iterator(im):
                w, h = frame.size
                if w * h > max_pixels:
                    raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels=w * h, limit=max_pixels)
                frame.load()
                frames.append(frame.copy())
    except AppError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels="?", limit=max_pixels) from exc
    except OSError as exc:
        code = ErrorCode.FILE_TRUNCATED if "truncated" in str(exc).lower() else ErrorCode.FILE_UNREADABLE
        raise AppError(code, name=name, detail=str(exc)) from exc
    except (ValueError, SyntaxError, Image.UnidentifiedImageError) as exc:
        raise AppError(ErrorCode.FILE_UNREADABLE, name=name, detail=str(exc)) from exc
    return frames


def _jpeg_page(claimed: Claimed, raw: bytes, max_pixels: int) -> Page:
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
        mode, dpi = im.mode, _dpi(im)
        im.draft("L", (w // 2, h // 2))
        half = im.convert("L")
    except AppError:
        raise
    except OSError as exc:
        code = ErrorCode.FILE_TRUNCATED if "truncated" in str(exc).lower() else ErrorCode.FILE_UNREADABLE
        raise AppError(code, name=name, detail=str(exc)) from exc
    except (ValueError, SyntaxError) as exc:
        raise AppError(ErrorCode.FILE_UNREADABLE, name=name, detail=str(exc)) from exc
    return _make(claimed, 0, raw, "jpeg", (w, h), dpi, mode, half)


def _single_tiff(frame: Image.Image) -> bytes:
    out = io.BytesIO()
    compression = "group4" if frame.mode == "1" else "tiff_lzw"
    frame.save(out, format="TIFF", compression=compression, dpi=frame.info.get("dpi", (0, 0)))
    return out.getvalue()


def _page(claimed: Claimed, index: int, data: bytes, fmt: str, frame: Image.Image) -> Page:
    return _make(claimed, index, data, fmt, frame.size, _dpi(frame), frame.mode, frame.convert("L").reduce(2))


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
