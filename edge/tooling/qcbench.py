"""`juanzong bench qc [--repeat N]`: how long the page checks take, on the production path.

Four A4 300 dpi colour JPEG pages (`edge.tooling.pages`: a clean court page, the same
turned 3°, a duplex back side with bleed-through and dust, another text page), written
as scanners write them; rendering is not timed. Each page goes through the decode
ingest uses (`decode_file`: the half-size analysis image) and then `analyse`, the QC
checks on it, `--repeat` times; the medians are printed. Nothing here is asserted on
time: a loaded machine prints a larger figure, it does not fail.

The last line is `qc: A ms/page analyse, D ms/page decode for QC (median of N)`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from juanzong.edge.ingest.context import QcRules
from juanzong.edge.ingest.qc import analyse, make_qc_input
from juanzong.edge.tooling import pages as q

COLOUR = QcRules(expect_colour=True)


def page_set() -> dict[str, Callable[[], Image.Image]]:
    base = q.judgment_page(1)
    return {
        "clean": lambda: q.scan_noise(base, 1),
        "skew_3.0": lambda: q.scan_noise(q.rotate(base, 3.0), 2),
        "backside": lambda: q.scan_noise(q.bleed_backside(), 3, sigma=6),
        "other_text": lambda: q.scan_noise(q.judgment_page(2), 1),
    }


def write_pages(folder: Path) -> list[Path]:
    paths = []
    for name, make in page_set().items():
        paths.append(q.save_jpeg(make(), folder / f"{name}.jpg"))
    return paths


def measure(paths: list[Path], repeat: int) -> tuple[list[float], list[float]]:
    """(decode ms, analyse ms) for every page and round."""
    decode_ms, analyse_ms = [], []
    for path in paths:
        for _ in range(repeat):
            started = time.perf_counter()
            inp = make_qc_input(path)
            decoded = time.perf_counter()
            analyse(inp, COLOUR)
            decode_ms.append((decoded - started) * 1000)
            analyse_ms.append((time.perf_counter() - decoded) * 1000)
    return decode_ms, analyse_ms


def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="juanzong-bench-qc-") as tmp:
        paths = write_pages(Path(tmp))
        decode_ms, analyse_ms = measure(paths, args.repeat)
    print(f"{len(paths)} pages ({', '.join(p.stem for p in paths)}), {args.repeat} rounds each")
    print(
        f"qc: {statistics.median(analyse_ms):.1f} ms/page analyse, {statistics.median(decode_ms):.1f} ms/page decode for QC"
        f" (median of {len(analyse_ms)})"
    )
    return 0
