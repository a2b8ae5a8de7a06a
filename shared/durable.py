"""Durable writes: temp file in the same directory, fsync, rename, fsync the directory.

Nothing either side acknowledges (a stored page, a blob PUT, a receipt) may rest
on bytes that a power cut can still take back, so every file kept is written
this way (restic `backend/local` Save; reliability anchors §1–2). The appliance's
blob store adds verification and crash points between the same steps.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path, mode: int = 0o755) -> None:
    """mkdir -p that also makes each new directory entry durable."""
    if path.is_dir():
        return
    ensure_dir(path.parent, mode)
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        return  # a concurrent writer made it; its own fsync covers the entry
    fsync_dir(path.parent)


def write_durable(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Atomically replace `path` with `data`; when this returns the bytes survive a power cut."""
    tmp = path.with_name(f".tmp-{path.name}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
