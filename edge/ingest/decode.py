"""Stage 1, decode: a claimed file → its pages, in order, one at a time.

The master is never re-encoded where the container allows it: a single JPEG,
PNG, TIFF or JPEG 2000 image is stored byte for byte; a multi-page TIFF is
split into one-page TIFFs holding each page's own compressed strips
(edge.ingest.raster); a PDF page keeps its JPEG, CCITT or JPEG 2000 data and is
otherwise extracted losslessly (edge.ingest.pdfpages). Each page's
`source_sha256` is the hash of that page's own bytes.

Refused before anything is decoded: a file over the byte cap (never read at
all, so a 2 GB file cannot exhaust memory), a type the scanner profile does
not accept, a page over the pixel cap or the per-page memory budget
(decompression bombs). Every page of a file is checked before the first one
is decoded; then every page is decoded completely — JPEG to its end marker,
every TIFF directory, every PDF page — so a damaged file fails as a whole and
is quarantined rather than stored half-read. Pages are produced lazily: the
pipeline takes each through its stages and keeps only the sealed bytes, so a
long file never holds more than one decoded page.

Every refusal is an `AppError` with a specific code and a Chinese reason
(edge.ingest.faults); no decoder's own text reaches the operator.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from juanzong.edge.crashpoints import crash_point
from juanzong.edge.devices.profiles import FILE_TYPES
from juanzong.edge.ingest import raster
from juanzong.edge.ingest.context import Claimed, IngestContext, Page
from juanzong.edge.ingest.faults import FORMAT_NAMES, megabytes
from juanzong.edge.ingest.pdfpages import pdf_pages
from juanzong.edge.watch.layout import OVERSIZE_DIR, byte_cap
from juanzong.shared.errors import AppError, ErrorCode

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jp2"),  # JP2 file
    (b"\xff\x4f\xff\x51", "jp2"),  # bare JPEG 2000 codestream
)
# Not scanner output, but named when they arrive, so the reason is specific.
_OTHER_MAGIC = (
    (b"GIF8", "GIF 图像"),
    (b"BM", "BMP 图像"),
    (b"RIFF", "WebP/RIFF 文件"),
    (b"PK\x03\x04", "ZIP/Office 文档"),
    (b"\xd0\xcf\x11\xe0", "旧版 Office 文档"),
    (b"\x97JB2", "JBIG2 图像"),
    (b"AT&TFORM", "DjVu 文档"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL 图像"),
    (b"\xff\x0a", "JPEG XL 图像"),
)


def sha256_file(path: Path, chunk: int = 1024 * 1024) -> str:
    """The hash of a file too big to hold in memory, read in 1 MB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sniff(head: bytes) -> str | None:
    return next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)


def kind_of(head: bytes) -> str:
    """What a file is, in Chinese, for a reason (also for types we never decode)."""
    fmt = sniff(head)
    if fmt == "tiff" and head[2:4] in (b"+\x00", b"\x00+"):
        return FORMAT_NAMES["bigtiff"]
    if fmt:
        return FORMAT_NAMES[fmt]
    return next((name for magic, name in _OTHER_MAGIC if head.startswith(magic)), "无法识别的文件")


# --------------------------------------------------------------------------- decode


def decode(claimed: Claimed, ctx: IngestContext) -> Iterator[Page]:
    """The file's pages, lazily; raises AppError (a FILE_* code) for a file that cannot be stored."""
    name, profile = claimed.source_name, ctx.profile
    if profile.is_ignored(name):  # a temporary name left behind, taken only after the grace period
        raise AppError(ErrorCode.FILE_NEVER_COMPLETE, name=name, seconds=f"{profile.grace_seconds:g}")
    size, cap = claimed.path.stat().st_size, byte_cap(ctx.max_pixels)
    if size > cap:  # refused unread: the quarantine sets it aside without reading it either
        raise AppError(ErrorCode.FILE_SIZE_TOO_LARGE, name=name, size=megabytes(size), limit=megabytes(cap), kept=OVERSIZE_DIR)
    raw = claimed.path.read_bytes()
    crash_point("hash")
    if not raw:
        raise AppError(ErrorCode.FILE_EMPTY, name=name)
    fmt = sniff(raw[:16])
    if fmt is None or fmt not in profile.file_types or not profile.accepts(name):
        raise AppError(
            ErrorCode.FILE_TYPE_NOT_ACCEPTED,
            name=name,
            kind=kind_of(raw[:16]),
            accepted="、".join(FORMAT_NAMES[t] + f"（{'/'.join(FILE_TYPES[t])}）" for t in profile.file_types),
        )
    return _pages(claimed, raw, fmt, ctx.max_pixels)


def _pages(claimed: Claimed, raw: bytes, fmt: str, max_pixels: int) -> Iterator[Page]:
    if fmt == "jpeg":
        yield raster.jpeg_page(claimed, 0, raw, max_pixels)
    elif fmt == "pdf":
        yield from pdf_pages(claimed, raw, max_pixels)
    elif fmt == "tiff":
        yield from raster.tiff_pages(claimed, raw, max_pixels)
    else:
        yield from raster.single_image(claimed, raw, fmt, max_pixels)


def decode_file(path: Path, max_pixels: int = 90_000_000) -> tuple[Page, ...]:
    """Every page of a scan file through the decoders ingest uses, without a scanner
    profile's type rules (tests, the benchmark, tools). Refusals as in ingest."""
    raw = path.read_bytes()
    fmt = sniff(raw[:16])
    if fmt is None:
        raise AppError(ErrorCode.FILE_TYPE_NOT_ACCEPTED, name=path.name, kind=kind_of(raw[:16]), accepted="")
    claimed = Claimed(claim=path.name, path=path, source_name=path.name)
    return tuple(_pages(claimed, raw, fmt, max_pixels))


def decode_all(claimed: Claimed, ctx: IngestContext) -> tuple[Page, ...]:
    """Every page at once (tests and tools; ingest takes them one at a time)."""
    return tuple(decode(claimed, ctx))
