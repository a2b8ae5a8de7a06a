"""Checks of the machine the appliance runs on, made before any plaintext is touched.

The hot folder (and the spool inside it) is the only place plaintext may rest;
where the scanner profile says `tmpfs_required`, it must be a RAM filesystem, so
a power cut or a stolen disk leaves nothing readable behind — and swap must be
off, because the kernel may page tmpfs (and the process's memory) out to disk.
"""

from __future__ import annotations

from pathlib import Path

from juanzong.shared.errors import AppError, ErrorCode

RAM_FILESYSTEMS = {"tmpfs", "ramfs"}


def filesystem_type(path: Path, mounts: Path = Path("/proc/mounts")) -> str:
    """The type of the filesystem holding `path` (longest matching mount point)."""
    target = str(path.resolve())
    best, fstype = "", "unknown"
    for line in mounts.read_text().splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, fstype = point, fields[2]
    return fstype


def require_ram_hot_folder(hot_folder: Path, required: bool) -> None:
    if not required:
        return
    fstype = filesystem_type(hot_folder)
    if fstype not in RAM_FILESYSTEMS:
        raise AppError(ErrorCode.HOT_FOLDER_NOT_RAM, path=str(hot_folder), fstype=fstype)


def active_swaps(swaps: Path = Path("/proc/swaps")) -> list[str]:
    """Swap devices in use (the first line of /proc/swaps is its header)."""
    try:
        lines = swaps.read_text().splitlines()[1:]
    except OSError:
        return []
    return [line.split()[0] for line in lines if line.strip()]


def require_no_swap(required: bool, swaps: Path = Path("/proc/swaps")) -> None:
    if required and (devices := active_swaps(swaps)):
        raise AppError(ErrorCode.SWAP_ENABLED, devices=", ".join(devices))
