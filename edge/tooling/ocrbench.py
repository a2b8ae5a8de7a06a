"""`juanzong bench ocr [--pages N]`: the OCR worker against rapidocr's defaults, same pages, same run.

What is measured, and how:

- Pages: generated court pages with known text (`edge.tooling.pages.court_page`:
  court, title, case number, ~24 lines of judgment text at 10–12 pt, signatures),
  A4 300 dpi colour JPEG q85 as scanners write them; rendering is not timed (the
  first 100 are rendered before the engines start; a longer run renders the rest
  while the worker reads, which a long run's RSS series does not mind).
- Each engine runs in its own child process (so peak RSS is its own) on every core
  the machine gives (2 here): the **worker** (edge.documents.ocr.TUNED, what
  `edge documents-worker` runs) and the **baseline** (`RapidOCR()` with its default
  settings; only the bundled model files are pinned, which is what it loads anyway).
  Model load and one warm-up page are timed apart; then every page is timed from
  JPEG bytes to recognised lines (wall time, and the process's CPU time, which
  says more than the wall time when other work shares the cores). The worker's
  child also assembles every 10 pages into a stamped searchable PDF, as the
  worker does, timed apart (so its memory is in the RSS too).
- Memory: RSS sampled every `--rss-every` pages (default 50) and the peak
  (ru_maxrss) of each child; a 1,000-page run shows whether it stays steady.
  Each sample is written out at once, so a long run stopped with Ctrl-C (or
  SIGTERM, for a run in the background) still reports the pages it read.
- Accuracy: 1 − Levenshtein / length over all characters, white space removed and
  full-width punctuation folded (edge.documents.quality), pooled over the pages.
- Figures: three pages of amounts, rates, dates, ID and account numbers with
  runs of one digit (`edge.tooling.pages.figures_page`, 34/40/46 px), read by
  each engine after the court pages, accuracy per page (not timed).
- Extraction check (worker only): the pages assembled into one searchable PDF, its
  text extracted with pdftotext, pypdf and pdfminer.six, compared with the printed
  text, and spaces between two CJK characters counted.

The last line is `ocr: S s/page, A % characters, RSS M MB` for the worker.
Run it on a quiet machine: it uses both cores for minutes. The load average at
the start and the end is printed, so figures taken on a busy machine say so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

TARGET_S_PER_PAGE = 2.5
TARGET_ACCURACY = 0.99
TARGET_RSS_MB = 1200


DOC_PAGES = 10  # the worker's child assembles every 10 pages into one searchable PDF, as the worker does
EXTRACTION_PAGES = 20  # pages put into the PDF the three extractors read
FIGURES_PX = (34, 40, 46)  # one figures page (amounts, IDs, runs of one digit) at each size, after the court pages
PRERENDER = 100  # pages rendered before any engine starts; a longer run renders the rest meanwhile


def pages(n: int) -> list:
    from juanzong.edge.tooling.pages import court_page

    return [court_page(1000 + k) for k in range(n + 1)]  # +1: the warm-up page


def write_pages(start: int, stop: int, folder: Path) -> None:
    """Render in the parent (the children's RSS is then the engine's), each file complete before
    it appears: pages past PRERENDER are rendered while the worker's child reads the first ones."""
    from juanzong.edge.tooling.pages import court_page, jpeg_bytes

    folder.mkdir(parents=True, exist_ok=True)
    for k in range(start, stop):
        page = court_page(1000 + k)
        (folder / f"{k:05d}.txt").write_text(page.text, "utf-8")
        part = folder / f"{k:05d}.part"
        part.write_bytes(jpeg_bytes(page.image))
        part.rename(folder / f"{k:05d}.jpg")


def write_figures(folder: Path) -> None:
    from juanzong.edge.tooling.pages import figures_page, jpeg_bytes

    folder.mkdir(parents=True, exist_ok=True)
    for k, px in enumerate(FIGURES_PX):
        page = figures_page(k, font_px=px)
        (folder / f"{k:05d}.txt").write_text(page.text, "utf-8")
        (folder / f"{k:05d}.jpg").write_bytes(jpeg_bytes(page.image))


def read_page(folder: Path, k: int) -> tuple[bytes, str]:
    path = folder / f"{k:05d}.jpg"
    while not path.exists():
        time.sleep(0.05)
    return path.read_bytes(), path.with_suffix(".txt").read_text("utf-8")


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


@dataclass
class Tally:
    """One engine's figures so far; written out every `every` pages, so a run cut short still reports."""

    engine: str
    load_s: float = 0.0
    warmup_s: float = 0.0
    times: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    pdf_s: float = 0.0
    errors: int = 0
    chars: int = 0
    figures: list[float] = field(default_factory=list)  # accuracy on each figures page
    rss_series: list[tuple[int, float]] = field(default_factory=list)  # (pages read, RSS MB)
    texts: list[list[list]] = field(default_factory=list)  # the first EXTRACTION_PAGES pages' lines

    def write(self, out: Path) -> None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        data = {**asdict(self), "accuracy": 1 - self.errors / max(1, self.chars), "rss_mb": peak}
        part = out.with_suffix(".part")
        part.write_text(json.dumps(data), "utf-8")
        part.rename(out)


def child(engine_name: str, folder: Path, out: Path, n: int, every: int) -> None:
    """One engine over the pages; writes figures (and the worker's first texts) as JSON."""
    from juanzong.edge.documents.ocr import BASELINE, TUNED, OcrEngine
    from juanzong.edge.documents.quality import char_accuracy, fold, levenshtein

    tally = Tally(engine_name)
    t0 = time.perf_counter()
    engine = OcrEngine(TUNED if engine_name == "worker" else BASELINE)
    tally.load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine.read_bytes(read_page(folder, 0)[0])
    tally.warmup_s = time.perf_counter() - t0
    tally.rss_series.append((0, rss_mb()))
    group: list[tuple[bytes, object]] = []
    for k in range(1, n + 1):
        data, printed = read_page(folder, k)
        t0, c0 = time.perf_counter(), time.process_time()
        text = engine.read_bytes(data)
        tally.times.append(time.perf_counter() - t0)
        tally.cpu_s += time.process_time() - c0
        tally.errors += levenshtein(fold(printed), fold(text.text))
        tally.chars += len(fold(printed))
        if k <= EXTRACTION_PAGES:
            tally.texts.append([[ln.text, ln.x0, ln.y0, ln.x1, ln.y1] for ln in text.lines])
        if engine_name == "worker":
            group.append((data, text))
            if len(group) == DOC_PAGES or k == n:
                t0 = time.perf_counter()
                searchable_pdf(group)
                tally.pdf_s += time.perf_counter() - t0
                group = []
        if k % every == 0 or k == n:
            tally.rss_series.append((k, rss_mb()))
            tally.write(out)
            print(
                f"  {engine_name}: {k} pages, RSS {tally.rss_series[-1][1]:.0f} MB, {sum(tally.times) / len(tally.times):.2f} s/page",
                flush=True,
            )
    for k in range(len(FIGURES_PX)):  # not timed: a check of what the court pages have few of
        data, printed = read_page(folder.parent / "figures", k)
        tally.figures.append(char_accuracy(printed, engine.read_bytes(data).text))
    tally.write(out)


def searchable_pdf(group: list) -> bytes:
    """What the worker does when a document's pages are read: stamp + text layer + assembly."""
    from juanzong.edge.documents.assemble import CatalogPlace, DocumentMeta, SourcePage, assemble
    from juanzong.shared.ids import Kind, new_id

    sources = [SourcePage(f"P{k}", k + 1, data) for k, (data, _) in enumerate(group)]
    texts = {src.page_id: text for src, (_, text) in zip(sources, group)}
    meta = DocumentMeta(new_id(Kind.ITEM), "（2026）京0102民初1234号", "民事判决书", CatalogPlace("main", "裁判文书", 9, 1))
    return assemble(sources, meta, texts).pdf


def run_child(engine_name: str, tmp: Path, n: int, every: int, render: bool = False) -> dict:
    out = tmp / f"{engine_name}.json"
    if render:
        write_figures(tmp / "figures")
        write_pages(0, min(n, PRERENDER) + 1, tmp / "pages")
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "juanzong.edge.tooling.ocrbench", engine_name, str(tmp / "pages"), str(out), str(n), str(every)]
    )
    try:
        if render:
            write_pages(min(n, PRERENDER) + 1, n + 1, tmp / "pages")
        code = proc.wait()
    except KeyboardInterrupt:  # a long run stopped by hand: report the pages read so far
        proc.terminate()
        code = proc.wait()
    except BaseException:
        proc.terminate()
        proc.wait()
        raise
    if not out.exists():
        raise SystemExit(f"bench failed: the {engine_name} process exited with {code}")
    return json.loads(out.read_text("utf-8"))


def extraction(worker: dict, tmp: Path) -> dict:
    """The worker's pages as one searchable PDF, read back by three extractors."""
    from pdfminer.high_level import extract_text
    from pdfminer.layout import LAParams
    from pypdf import PdfReader

    from juanzong.edge.documents.assemble import CatalogPlace, DocumentMeta, SourcePage, assemble
    from juanzong.edge.documents.quality import char_accuracy, spaces_between_cjk
    from juanzong.edge.documents.textlayer import PageText, TextLine
    from juanzong.shared.ids import Kind, new_id

    known = [read_page(tmp / "pages", k) for k in range(1, len(worker["texts"]) + 1)]
    sources = [SourcePage(f"P{k}", k + 1, data) for k, (data, _) in enumerate(known)]
    texts = {s.page_id: PageText(2480, 3508, tuple(TextLine(*ln) for ln in lines)) for s, lines in zip(sources, worker["texts"])}
    meta = DocumentMeta(new_id(Kind.ITEM), "（2026）京0102民初1234号", "民事判决书", CatalogPlace("main", "裁判文书", 9, 1))
    path = tmp / "searchable.pdf"
    path.write_bytes(assemble(sources, meta, texts).pdf)
    printed = "\n".join(text for _, text in known)
    ocr_spaces = sum(spaces_between_cjk("\n".join(t.text for t in page.lines)) for page in texts.values())
    got = {
        "pdftotext": subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout,
        "pypdf": "\n".join(p.extract_text() for p in PdfReader(str(path)).pages),
        "pdfminer.six": extract_text(str(path), laparams=LAParams(boxes_flow=None)),
    }
    # a space the OCR itself reported (a printed 　 gap such as 审判员　张三) is text, not an extractor's insertion
    return {
        name: {"accuracy": char_accuracy(printed, text), "cjk_spaces": spaces_between_cjk(text), "ocr_spaces": ocr_spaces}
        for name, text in got.items()
    }


def _median(values: list[float]) -> float:
    s = sorted(values)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def report(results: dict, checks: dict, n: int, loads: tuple[float, float]) -> None:
    read = len(results["worker"]["times"])
    print(
        f"{read} of {n} generated court pages (A4 300 dpi colour JPEG, known text), {os.cpu_count()} cores, "
        f"load average {loads[0]:.1f} at the start, {loads[1]:.1f} at the end"
    )
    if read < n:
        print(f"the run was stopped after {read} pages: the figures are those of the pages read")
    print(f"{'engine':<10} {'s/page':>7} {'median':>7} {'pages/h':>8} {'CPU s/p':>8} {'chars':>8} {'peak RSS':>9} {'load s':>7}")
    for r in results.values():
        mean = sum(r["times"]) / len(r["times"])
        print(
            f"{r['engine']:<10} {mean:7.2f} {_median(r['times']):7.2f} {3600 / mean:8.0f} {r['cpu_s'] / len(r['times']):8.2f} "
            f"{100 * r['accuracy']:7.2f}% {r['rss_mb']:6.0f} MB {r['load_s']:7.1f}"
        )
    w = results["worker"]
    print(f"worker: stamped searchable PDF written every {DOC_PAGES} pages, {w['pdf_s'] / read:.2f} s/page of that (not in s/page above)")
    for r in results.values():
        series = ", ".join(f"{k}: {mb:.0f}" for k, mb in r["rss_series"])
        print(f"RSS {r['engine']} (pages read: MB): {series}")
    if len(w["rss_series"]) > 2:
        after_first = [mb for k, mb in w["rss_series"] if k > 0]
        print(
            f"RSS worker after the first {w['rss_series'][1][0]} pages: {min(after_first):.0f}–{max(after_first):.0f} MB "
            f"(growth {after_first[-1] - after_first[0]:+.0f} MB from then to the last sample)"
        )
    figures = ", ".join(
        f"{r['engine']} " + " / ".join(f"{100 * a:.2f}" for a in r["figures"]) + " %" for r in results.values() if r["figures"]
    )
    if figures:
        print(f"figures pages (amounts, rates, IDs, runs of one digit; {' / '.join(map(str, FIGURES_PX))} px): {figures}")
    for name, c in checks.items():
        added = c["cjk_spaces"] - c["ocr_spaces"]
        print(
            f"extraction {name:<13} {100 * c['accuracy']:.2f}% of the printed characters ({len(w['texts'])} pages), "
            f"{added} spaces between CJK added ({c['cjk_spaces']} found, {c['ocr_spaces']} in the OCR text itself: printed 　 gaps)"
        )
    mean = sum(w["times"]) / read
    ok = mean <= TARGET_S_PER_PAGE and w["accuracy"] >= TARGET_ACCURACY and w["rss_mb"] < TARGET_RSS_MB
    print(
        f"targets: ≤ {TARGET_S_PER_PAGE} s/page, ≥ {100 * TARGET_ACCURACY:.0f} % characters, RSS < {TARGET_RSS_MB} MB: "
        f"{'met' if ok else 'NOT met'}"
    )
    print(f"ocr: {mean:.2f} s/page, {100 * w['accuracy']:.2f} % characters, RSS {w['rss_mb']:.0f} MB")


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(args: argparse.Namespace) -> int:
    n, every = int(args.pages), int(args.rss_every)
    if n < 1 or every < 1:
        print("bench failed: --pages and --rss-every must be at least 1", file=sys.stderr)
        return 1
    load_start = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, _stop)  # a long run in the background (where SIGINT is ignored) stops with TERM
    with tempfile.TemporaryDirectory(prefix="juanzong-bench-ocr-") as tmp:
        results = {"worker": run_child("worker", Path(tmp), n, every, render=True)}
        if not args.no_baseline and len(results["worker"]["times"]) == n:
            results["baseline"] = run_child("baseline", Path(tmp), n, every)
        checks = extraction(results["worker"], Path(tmp))
    report(results, checks, n, (load_start, os.getloadavg()[0]))
    return 0


def ocr_load(ready: Path) -> None:
    """What the documents worker does all day, for `bench ingest --ocr-beside`: nice 10, the
    worker's OCR settings, pages read in a loop until the process is stopped."""
    from juanzong.edge.documents.ocr import TUNED, OcrEngine
    from juanzong.edge.documents.worker import lower_priority
    from juanzong.edge.tooling.pages import jpeg_bytes

    lower_priority()
    data = [jpeg_bytes(p.image) for p in pages(2)]
    engine = OcrEngine(TUNED)
    engine.read_bytes(data[0])
    ready.write_text("ready", "utf-8")
    while True:
        for d in data:
            engine.read_bytes(d)


if __name__ == "__main__":
    if sys.argv[1] == "load":
        ocr_load(Path(sys.argv[2]))
    else:
        child(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
