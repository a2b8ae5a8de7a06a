"""The hot folder's own names and the byte cap a file is admitted under.

Shared by the watcher (claims into the spool, sets oversized files aside), decode
(refuses what is over the cap) and `edge status` (counts the spool), so none of
them reaches into another for a constant.
"""

from __future__ import annotations

SPOOL = ".juanzong-spool"  # claimed files wait here, on the hot folder's filesystem
OVERSIZE_DIR = ".juanzong-oversize"  # where an unread oversized file is kept (see HotFolder.set_aside)
# Never below 256 MiB; above it when one uncompressed page at the pixel cap
# (4 bytes a pixel) could be bigger. Scanner pages are 0.05-15 MB.
MIN_BYTE_CAP = 256 * 1024 * 1024


def byte_cap(max_pixels: int) -> int:
    return max(MIN_BYTE_CAP, 4 * max_pixels)
