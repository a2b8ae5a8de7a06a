"""The simulated scanner: writes generated pages into a hot folder the way scanner drivers do.

Pages come from `edge.tooling.pages`, the one page generator the demo, the benchmarks and
the tests share. This is tooling around the appliance, never part of it: the scanner's own
temp-then-rename (or slow, chunked) writes are what the watcher must cope with, so they are
imitated here on purpose rather than going through `shared.durable`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from juanzong.edge.tooling.pages import jpeg_bytes


@dataclass(frozen=True)
class ScanJob:
    """What the operator feeds: the pages in order (cover sheet first, rectos and versos)."""

    pages: tuple[Image.Image, ...]


class SimulatedScanner:
    """Writes pages into a hot folder the way scanner drivers do: scan_0001.jpg, scan_0002.jpg …

    Normal writes go to a hidden temp name and are renamed into place, so a
    watcher never sees a partial file. `slow=True` writes the final name in
    chunks with sleeps, like a network scanner over SMB, to exercise settling.
    """

    def __init__(
        self, hot_folder: Path, *, prefix: str = "scan_", start: int = 1, chunk_bytes: int = 256 * 1024, chunk_delay: float = 0.05
    ) -> None:
        self.hot_folder = Path(hot_folder)
        self.prefix = prefix
        self.next_number = start
        self.chunk_bytes = chunk_bytes
        self.chunk_delay = chunk_delay
        self.hot_folder.mkdir(parents=True, exist_ok=True)

    def _next_path(self) -> Path:
        # like a real scanner, never overwrite: skip numbers already on disk
        while True:
            path = self.hot_folder / f"{self.prefix}{self.next_number:04d}.jpg"
            self.next_number += 1
            if not path.exists():
                return path

    def write(self, img: Image.Image, *, quality: int = 85, slow: bool = False) -> Path:
        data = jpeg_bytes(img, quality=quality)
        path = self._next_path()
        if slow:
            with open(path, "wb") as f:
                for i in range(0, len(data), self.chunk_bytes):
                    f.write(data[i : i + self.chunk_bytes])
                    f.flush()
                    time.sleep(self.chunk_delay)
            return path
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return path

    def write_many(self, imgs: Iterable[Image.Image], **kw) -> list[Path]:
        return [self.write(img, **kw) for img in imgs]

    def feed(self, job: ScanJob, **kw) -> list[Path]:
        return self.write_many(job.pages, **kw)
