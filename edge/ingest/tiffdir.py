"""TIFF directories read without decoding pixels: classic TIFF and BigTIFF.

Used twice: before a file is claimed (does every directory and every strip or
tile lie inside the file? — a file still being written does not), and by
decode (how many pages, which compression, and the single-page files a
multi-page TIFF is split into). Only the directory bytes are read, so this is
cheap enough to run on every settled file.

Headers: ``II*\\0`` / ``MM\\0*`` (classic, 32-bit offsets, 12-byte entries) and
``II+\\0`` / ``MM\\0+`` (BigTIFF, 64-bit offsets, 20-byte entries).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

# type code → (struct code, byte width); types not listed are read as bytes
_TYPES = {
    1: ("B", 1),
    2: ("B", 1),
    3: ("H", 2),
    4: ("I", 4),
    5: ("I", 8),
    6: ("b", 1),
    7: ("B", 1),
    8: ("h", 2),
    9: ("i", 4),
    10: ("i", 8),
    11: ("f", 4),
    12: ("d", 8),
    13: ("I", 4),
    16: ("Q", 8),
    17: ("q", 8),
    18: ("Q", 8),
}
STRIP_OFFSETS, STRIP_COUNTS, TILE_OFFSETS, TILE_COUNTS = 273, 279, 324, 325
COMPRESSION, PHOTOMETRIC, BITS, SAMPLES = 259, 262, 258, 277
JPEG_IF_OFFSET, JPEG_IF_LENGTH = 513, 514
MAX_DIRECTORIES = 10_000


@dataclass(frozen=True)
class Layout:
    order: str  # "<" or ">"
    big: bool

    @property
    def count_fmt(self) -> str:
        return "Q" if self.big else "H"

    @property
    def offset_fmt(self) -> str:
        return "Q" if self.big else "I"

    @property
    def entry_size(self) -> int:
        return 20 if self.big else 12

    @property
    def inline(self) -> int:
        return 8 if self.big else 4


@dataclass(frozen=True)
class Entry:
    tag: int
    type: int
    count: int
    raw: bytes  # the value bytes, wherever they were stored

    def values(self, order: str) -> tuple:
        code, width = _TYPES.get(self.type, ("B", 1))
        n = self.count * (2 if self.type in (5, 10) else 1)
        if self.type in (5, 10):
            code = "I" if self.type == 5 else "i"
        return struct.unpack(f"{order}{n}{code}", self.raw[: n * struct.calcsize(code)])

    def first(self, order: str, default: int = 0) -> int:
        vals = self.values(order) if self.count else ()
        return int(vals[0]) if vals else default


@dataclass(frozen=True)
class Directory:
    entries: dict[int, Entry]

    def get(self, tag: int, order: str, default: int = 0) -> int:
        entry = self.entries.get(tag)
        return entry.first(order, default) if entry else default

    def extents(self, order: str) -> list[tuple[int, int]]:
        """(offset, length) of every strip or tile, plus an old-style JPEG stream."""
        out = []
        for off_tag, len_tag in ((STRIP_OFFSETS, STRIP_COUNTS), (TILE_OFFSETS, TILE_COUNTS), (JPEG_IF_OFFSET, JPEG_IF_LENGTH)):
            if off_tag in self.entries and len_tag in self.entries:
                offs = self.entries[off_tag].values(order)
                lens = self.entries[len_tag].values(order)
                out += list(zip(offs, lens))
        return out


class TiffCut(Exception):
    """A directory, a value or a strip lies past the end of the file."""


def layout(head: bytes) -> Layout | None:
    if len(head) < 8 or head[:2] not in (b"II", b"MM"):
        return None
    order = "<" if head[:2] == b"II" else ">"
    version = struct.unpack(order + "H", head[2:4])[0]
    if version == 42:
        return Layout(order, False)
    if version == 43 and len(head) >= 16 and struct.unpack(order + "HH", head[4:8]) == (8, 0):
        return Layout(order, True)
    return None


def directories(f: BinaryIO, size: int) -> tuple[Layout, list[Directory]]:
    """Every directory in file order; TiffCut if anything lies outside `size` bytes."""
    f.seek(0)
    head = f.read(16)
    lay = layout(head)
    if lay is None:
        raise TiffCut("not a TIFF header")
    first = struct.unpack(lay.order + lay.offset_fmt, head[8:16] if lay.big else head[4:8])[0]
    out: list[Directory] = []
    seen: set[int] = set()
    offset = first
    while offset:
        if offset in seen or len(seen) >= MAX_DIRECTORIES:
            raise TiffCut("directory loop")
        seen.add(offset)
        directory, offset = _directory(f, size, lay, offset)
        out.append(directory)
    return lay, out


def _directory(f: BinaryIO, size: int, lay: Layout, offset: int) -> tuple[Directory, int]:
    count_size = struct.calcsize(lay.count_fmt)
    _need(offset + count_size, size)
    f.seek(offset)
    (count,) = struct.unpack(lay.order + lay.count_fmt, f.read(count_size))
    body_end = offset + count_size + count * lay.entry_size + lay.inline
    _need(body_end, size)
    body = f.read(count * lay.entry_size + lay.inline)
    entries = {}
    for i in range(count):
        entry = _entry(f, size, lay, body[i * lay.entry_size : (i + 1) * lay.entry_size])
        entries[entry.tag] = entry
    (next_offset,) = struct.unpack(lay.order + lay.offset_fmt, body[-lay.inline :])
    directory = Directory(entries)
    extents = directory.extents(lay.order)
    if not extents:
        raise TiffCut("a directory without image data")
    for off, length in extents:
        _need(off + length, size)
    return directory, next_offset


def _entry(f: BinaryIO, size: int, lay: Layout, data: bytes) -> Entry:
    fmt = lay.order + ("HHQ" if lay.big else "HHI")
    tag, typ, count = struct.unpack(fmt, data[: 12 if lay.big else 8])
    value = data[12:] if lay.big else data[8:]
    width = count * _TYPES.get(typ, ("B", 1))[1]
    if width <= lay.inline:
        return Entry(tag, typ, count, value[:width])
    (at,) = struct.unpack(lay.order + lay.offset_fmt, value)
    _need(at + width, size)
    here = f.tell()
    f.seek(at)
    raw = f.read(width)
    f.seek(here)
    return Entry(tag, typ, count, raw)


def _need(end: int, size: int) -> None:
    if end > size:
        raise TiffCut(f"needs {end} bytes, file has {size}")


def frame_count(f: BinaryIO, size: int) -> int | None:
    """Number of directories if every directory, value and strip lies inside the file, else None."""
    try:
        _, dirs = directories(f, size)
    except (TiffCut, struct.error):
        return None
    return len(dirs) or None


# --------------------------------------------------------------------------- one page out of many

NEW_SUBFILE_TYPE = 254
_REDUCED, _MASK = 1, 4  # NewSubfileType bits: a thumbnail, a transparency mask — not pages
# pointers to other structures: not carried into a single-page file (metadata, not pixels)
_DROPPED = {330, 34665, 34853, 40965, 288, 289}
# old-style JPEG keeps its tables and stream behind offsets: such a page is re-encoded instead
_OFFSET_VALUES = {513, 514, 519, 520, 521}
_WIDE = {16: (4, "I"), 17: (9, "i"), 18: (4, "I")}  # BigTIFF 64-bit types → classic 32-bit ones


def is_page(directory: Directory, order: str) -> bool:
    return not directory.get(NEW_SUBFILE_TYPE, order) & (_REDUCED | _MASK)


def split_page(src: bytes, lay: Layout, directory: Directory, extra: tuple[Entry, ...] = ()) -> bytes | None:
    """A classic TIFF holding exactly this directory's image: its strips or tiles
    copied byte for byte (the scanner's compression kept, nothing decoded), its
    tags copied in the source byte order. None where that cannot be done
    faithfully (old-style JPEG tables, data beyond 4 GB)."""
    if _OFFSET_VALUES & directory.entries.keys():
        return None
    off_tag, len_tag = (TILE_OFFSETS, TILE_COUNTS) if TILE_OFFSETS in directory.entries else (STRIP_OFFSETS, STRIP_COUNTS)
    if off_tag not in directory.entries or len_tag not in directory.entries:
        return None
    pieces = list(zip(directory.entries[off_tag].values(lay.order), directory.entries[len_tag].values(lay.order)))
    return _rebuilt(src, lay.order, directory, pieces, {e.tag: e for e in extra})


def _rebuilt(src: bytes, order: str, directory: Directory, pieces: list[tuple[int, int]], extra: dict[int, Entry]) -> bytes | None:
    """A one-directory classic TIFF: `pieces` of `src` as its strips (or tiles), the
    directory's other tags copied, `extra` tags added or replaced."""
    off_tag, len_tag = (TILE_OFFSETS, TILE_COUNTS) if TILE_OFFSETS in directory.entries else (STRIP_OFFSETS, STRIP_COUNTS)
    out = bytearray(b"II*\x00" if order == "<" else b"MM\x00*") + b"\x00\x00\x00\x00"
    offsets, lengths = [], []
    for off, length in pieces:
        offsets.append(len(out))
        lengths.append(length)
        out += src[off : off + length]
        if len(out) % 2:
            out += b"\x00"
    if len(out) >= 2**32 - 2**20:
        return None
    entries = {tag: e for tag, e in directory.entries.items() if tag not in _DROPPED}
    entries.update(extra)
    entries[off_tag] = Entry(off_tag, 4, len(offsets), struct.pack(f"{order}{len(offsets)}I", *offsets))
    entries[len_tag] = Entry(len_tag, 4, len(lengths), struct.pack(f"{order}{len(lengths)}I", *lengths))
    narrowed = {tag: _narrow(e, order) for tag, e in entries.items()}
    kept = [e for tag in sorted(narrowed) if (e := narrowed[tag]) is not None]
    if len(kept) != len(narrowed):
        return None
    return bytes(_write_directory(out, order, kept))


def _narrow(entry: Entry, order: str) -> Entry | None:
    if entry.type not in _WIDE:
        return entry
    typ, code = _WIDE[entry.type]
    values = struct.unpack(f"{order}{entry.count}{'q' if code == 'i' else 'Q'}", entry.raw)
    if any(not -(2**31) <= v < 2**32 for v in values):
        return None
    return Entry(entry.tag, typ, entry.count, struct.pack(f"{order}{entry.count}{code}", *values))


def _write_directory(out: bytearray, order: str, entries: list[Entry]) -> bytearray:
    if len(out) % 2:
        out += b"\x00"
    ifd_at = len(out)
    out[4:8] = struct.pack(order + "I", ifd_at)
    values_at = ifd_at + 2 + 12 * len(entries) + 4
    body, extra = bytearray(struct.pack(order + "H", len(entries))), bytearray()
    for e in entries:
        if len(e.raw) <= 4:
            value = e.raw.ljust(4, b"\x00")
        else:
            value = struct.pack(order + "I", values_at + len(extra))
            extra += e.raw + (b"\x00" if len(e.raw) % 2 else b"")
        body += struct.pack(order + "HHI", e.tag, e.type, e.count) + value
    body += b"\x00\x00\x00\x00"
    return out + body + extra


def write_directory(out: bytearray, order: str, entries: list[Entry]) -> bytearray:
    """`out` (a classic TIFF header and its data) with one directory of `entries`, sorted by tag, appended."""
    return _write_directory(out, order, entries)


def resolution_entries(dpi: float, order: str) -> tuple[Entry, ...]:
    """XResolution, YResolution (RATIONAL) and ResolutionUnit = inch."""
    num, den = round(dpi * 1000), 1000
    rational = struct.pack(order + "II", num, den)
    return (Entry(282, 5, 1, rational), Entry(283, 5, 1, rational), Entry(296, 3, 1, struct.pack(order + "H", 2)))


def bandable(lay: Layout, directory: Directory) -> bool:
    """Several strips of whole rows, interleaved samples, nothing behind extra offsets."""
    entries = directory.entries
    if TILE_OFFSETS in entries or STRIP_OFFSETS not in entries or _OFFSET_VALUES & entries.keys():
        return False
    height = directory.get(257, lay.order)
    rps = min(directory.get(278, lay.order, height) or height, height)
    strips = entries[STRIP_OFFSETS].count
    return height > 0 and strips >= 2 and directory.get(284, lay.order, 1) == 1 and strips == -(-height // rps)


def strip_bands(src: bytes, lay: Layout, directory: Directory, min_rows: int) -> list[tuple[int, bytes]] | None:
    """The page as a list of (first row, one-page TIFF holding a band of whole strips),
    each band at least `min_rows` rows and an even number of rows (but the last), so a
    large page can be decoded a band at a time. None for tiled or single-strip pages."""
    if TILE_OFFSETS in directory.entries or STRIP_OFFSETS not in directory.entries or _OFFSET_VALUES & directory.entries.keys():
        return None
    height = directory.get(257, lay.order)
    rps = min(directory.get(278, lay.order, height) or height, height)
    offsets = directory.entries[STRIP_OFFSETS].values(lay.order)
    counts = directory.entries[STRIP_COUNTS].values(lay.order)
    planar = directory.get(284, lay.order, 1)
    if len(offsets) < 2 or planar != 1 or len(offsets) != -(-height // rps):
        return None
    per_band = max(1, min_rows // rps)
    if (per_band * rps) % 2:
        per_band += 1
    bands = []
    for first in range(0, len(offsets), per_band):
        chosen = range(first, min(first + per_band, len(offsets)))
        top = first * rps
        rows = min(height, top + len(chosen) * rps) - top
        pieces = [(offsets[i], counts[i]) for i in chosen]
        band = _rebuilt(src, lay.order, directory, pieces, {257: Entry(257, 4, 1, struct.pack(lay.order + "I", rows))})
        if band is None:
            return None
        bands.append((top, band))
    return bands
