"""`juanzong bench ocr [--pages N]`: the OCR worker against rapidocr's defaults, same pages, same run.

What is measured, and how:

- Pages: generated court pages with known text (`edge.tooling.pages.court_page`:
  court, title, case number, ~24 lines of judgment text at 10–12 pt, signatures),
  A4 300 dpi colour JPEG q85 as scanners write them; rendering is not timed.
- Each engine runs in its own child process (so peak RSS is its own) on every core
  the machine gives (2 here): the **worker** (edge.documents.ocr.TUNED, what
  `edge documents-worker` runs) and the **baseline** (`RapidOCR()` with its default
  settings; only the bundled model files are pinned, which is what it loads anyway).
  Model load and one warm-up page are timed apart; then every page is timed from
  JPEG bytes to recognised lines (wall time, and the process's CPU time, which
  says more than the wall time when other work shares the cores).
- Accuracy: 1 − Levenshtein / length over all characters, white space removed and
  full-width punctuation folded (edge.documents.quality), pooled over the pages.
- Extraction check (worker only): the pages assembled into one searchable PDF, its
  text extracted with pdftotext, pypdf and pdfminer.six, compared with the printed
  text, and spaces between two CJK characters counted.

The last line is `ocr: S s/page, A % characters, RSS M MB` for the worker.
Run it on a quiet machine: it uses both cores for minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S_PER_PAGE = 2.5
TARGET_ACCURACY = 0.99
TARGET_RSS_MB = 1200


def pages(n: int) -> list:
    from juanzong.edge.tooling.pages import court_page

    return [court_page(1000 + k) for k in range(n + 1)]  # +1: the warm-up page


def write_pages(n: int, folder: Path) -> None:
    """Render once, in the parent: the children's peak RSS is then the engine's, not the renderer's."""
    from juanzong.edge.tooling.pages import jpeg_bytes

    folder.mkdir(parents=True, exist_ok=True)
    for k, page in enumerate(pages(n)):
        (folder / f"{k:04d}.jpg").write_bytes(jpeg_bytes(page.image))
        (folder / f"{k:04d}.txt").write_text(page.text, "utf-8")


def read_pages(folder: Path) -> list[tuple[bytes, str]]:
    return [(p.read_bytes(), p.with_suffix(".txt").read_text("utf-8")) for p in sorted(folder.glob("*.jpg"))]


def child(engine_name: str, folder: Path, out: Path) -> None:
    """One engine over the pages; writes figures (and the worker's texts) as JSON."""
    from juanzong.edge.documents.ocr import BASELINE, TUNED, OcrEngine
    from juanzong.edge.documents.quality import fold, levenshtein

    known = read_pages(folder)
    t0 = time.perf_counter()
    engine = OcrEngine(TUNED if engine_name == "worker" else BASELINE)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine.read_bytes(known[0][0])
    warm = time.perf_counter() - t0
    times, cpu, errors, chars, texts = [], 0.0, 0, 0, []
    for data, printed in known[1:]:
        t0, c0 = time.perf_counter(), time.process_time()
        text = engine.read_bytes(data)
        times.append(time.perf_counter() - t0)
        cpu += time.process_time() - c0
        errors += levenshtein(fold(printed), fold(text.text))
        chars += len(fold(printed))
        texts.append([[ln.text, ln.x0, ln.y0, ln.x1, ln.y1] for ln in text.lines])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_text(json.dumps({"engine": engine_name, "load_s": load, "warmup_s": warm, "times": times, "cpu_s": cpu,
                               "accuracy": 1 - errors / chars, "chars": chars, "rss_mb": rss, "texts": texts}), "utf-8")


def run_child(engine_name: str, tmp: Path) -> dict:
    out = tmp / f"{engine_name}.json"
    subprocess.run([sys.executable, "-P", "-m", "juanzong.edge.tooling.ocrbench", engine_name, str(tmp / "pages"), str(out)],
                   check=True)
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

    known = read_pages(tmp / "pages")[1:]
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
    return {name: {"accuracy": char_accuracy(printed, text), "cjk_spaces": spaces_between_cjk(text), "ocr_spaces": ocr_spaces}
            for name, text in got.items()}


def _median(values: list[float]) -> float:
    s = sorted(values)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def report(results: dict, checks: dict, n: int) -> None:
    print(f"{n} generated court pages (A4 300 dpi colour JPEG, known text), {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'engine':<10} {'s/page':>7} {'median':>7} {'pages/h':>8} {'CPU s/p':>8} {'chars':>8} {'RSS MB':>7} {'load s':>7}")
    for r in results.values():
        mean = sum(r["times"]) / len(r["times"])
        print(f"{r['engine']:<10} {mean:7.2f} {_median(r['times']):7.2f} {3600 / mean:8.0f} {r['cpu_s'] / len(r['times']):8.2f} "
              f"{100 * r['accuracy']:7.2f}% {r['rss_mb']:7.0f} {r['load_s']:7.1f}")
    for name, c in checks.items():
        added = c["cjk_spaces"] - c["ocr_spaces"]
        print(f"extraction {name:<13} {100 * c['accuracy']:.2f}% of the printed characters, {added} spaces between CJK added "
              f"({c['cjk_spaces']} found, {c['ocr_spaces']} in the OCR text itself: printed 　 gaps)")
    w = results["worker"]
    mean = sum(w["times"]) / len(w["times"])
    ok = mean <= TARGET_S_PER_PAGE and w["accuracy"] >= TARGET_ACCURACY and w["rss_mb"] < TARGET_RSS_MB
    print(f"targets: ≤ {TARGET_S_PER_PAGE} s/page, ≥ {100 * TARGET_ACCURACY:.0f} % characters, RSS < {TARGET_RSS_MB} MB: "
          f"{'met' if ok else 'NOT met'}")
    print(f"ocr: {mean:.2f} s/page, {100 * w['accuracy']:.2f} % characters, RSS {w['rss_mb']:.0f} MB")


def main(args: argparse.Namespace) -> int:
    n = int(args.pages)
    if n < 1:
        print("bench failed: --pages must be at least 1", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="juanzong-bench-ocr-") as tmp:
        write_pages(n, Path(tmp) / "pages")
        names = ["worker"] + ([] if args.no_baseline else ["baseline"])
        results = {name: run_child(name, Path(tmp)) for name in names}
        checks = extraction(results["worker"], Path(tmp))
    report(results, checks, n)
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
        child(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
