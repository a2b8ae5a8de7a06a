"""Is a settled file whole? Read its structure, not its pixels, before the watcher claims it.

A scanner (or an SMB client) that stalls mid-write keeps size and mtime still,
so settling alone is not enough: a JPEG must end with its EOI marker, a PNG with
IEND, a TIFF's directories and strips must lie inside the file, a PDF must have
its trailer and open (qpdf reads the xref and page tree, not the image streams),
a JPEG 2000 codestream must end with EOC. Decoding proper is edge.ingest.decode.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import pikepdf

from juanzong.edge.ingest import tiffdir
from juanzong.edge.ingest.decode import sniff
from juanzong.edge.ingest.raster import jpeg_complete
from juanzong.edge.watch.layout import MIN_BYTE_CAP

_TAIL = 64 * 1024  # end markers sit in the last bytes; zero padding after them is allowed


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
            return tiffdir.frame_count(f, size) is not None
        f.seek(max(0, size - _TAIL))
        tail = f.read()
    if fmt == "jpeg":
        return jpeg_complete(tail)
    if fmt == "png":
        return tail.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")
    if fmt == "pdf":
        return b"%%EOF" in tail[-1024:] and _pdf_opens(path)
    if fmt == "jp2":
        return tail.rstrip(b"\x00").endswith(b"\xff\xd9")  # the codestream's EOC marker
    return False  # empty, or no known header yet: the grace period decides


def _pdf_opens(path: Path) -> bool:
    try:  # qpdf reads the xref and the page tree, not the image streams
        with pikepdf.open(path, attempt_recovery=False) as pdf:
            return all(page.mediabox is not None for page in pdf.pages)
    except Exception:  # any parse fault: not complete (yet); decode gives the reason
        return False


def tiff_frame_count(f: BinaryIO, size: int) -> int | None:
    """Number of TIFF/BigTIFF directories if all of them and their strips lie inside the file."""
    return tiffdir.frame_count(f, size)
