"""Settling: a file is taken only once it has stopped changing.

Pure and clock-driven (paperless `FileStabilityTracker`), so tests run it with
a 0.1 s delay and a fake clock. A path is ready when no event arrived and its
size and mtime stayed the same for `settle_seconds`, and it still exists.
Scanners that open and close a file several times (duplex ADFs) keep resetting
the timer, which is the point.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # clock time of the last change or event


class StabilityTracker:
    def __init__(self, settle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle = settle_seconds
        self.clock = clock
        self._seen: dict[Path, _Seen] = {}

    def touch(self, path: Path) -> None:
        """An event (or a rescan) saw this path: (re)start its timer."""
        st = _stat(path)
        if st is None:
            self._seen.pop(path, None)
            return
        self._seen[path] = _Seen(st[0], st[1], self.clock())

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)

    def __contains__(self, path: Path) -> bool:
        return path in self._seen

    def pending(self) -> int:
        return len(self._seen)

    def ready(self) -> list[Path]:
        """Paths settled now, in name order (scanner order); they leave the tracker."""
        now, out = self.clock(), []
        for path, seen in list(self._seen.items()):
            st = _stat(path)
            if st is None:
                del self._seen[path]
            elif st != (seen.size, seen.mtime_ns):
                self._seen[path] = _Seen(st[0], st[1], now)
            elif now - seen.since >= self.settle:
                out.append(path)
                del self._seen[path]
        return sorted(out, key=natural_key)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:  # vanished, or unreadable for now (permissions, a share that dropped)
        return None
    return st.st_size, st.st_mtime_ns


def natural_key(path: Path) -> tuple:
    """scan_2 before scan_10: digit runs compare as numbers, the rest case-blind.

    `re.split` with a group alternates text and digit runs, so the types line up
    position by position (never int against str), whatever the names hold.
    """
    parts = re.split(r"(\d+)", path.name)
    # the exact name last: a tie-break between names that differ only in case or zero padding
    return tuple(int(t) if i % 2 else t.casefold() for i, t in enumerate(parts)), path.name
