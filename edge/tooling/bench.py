"""`juanzong bench ingest`: pages per second from hot folder to durable encrypted page, on one core.

What is measured, and what is not:

- The pages are rendered first and are not timed: realistic A4 300 dpi colour JPEGs
  (q85, as scanners write them) in a fixed mix per 20 pages — one of our cover sheets,
  14 dense Chinese text pages, 2 evidence-photo sheets, 2 blank duplex backsides and one
  express waybill with foreign barcodes — each from its own seed, so no two hash alike.
- Each barcode backend runs in its own child process (so its peak RSS is its own),
  pinned to one CPU, on a fresh copy of one appliance home (an intake whose items the
  cover sheets name, paired with a central key generated for the run), with the
  simulated scanner profile's `barcode.backend` set through a temporary profiles root.
  The hot folder and spool are on tmpfs (/dev/shm) as on the appliance, where plaintext
  never reaches flash (firmware_profiles/appliances); data and blobs are on disk.
  `--hot-disk` puts the hot folder on the disk too.
- Timed: the files already in the hot folder → `Appliance.take` per file in name order →
  every page durable (blob fsynced, rows committed, spool copy removed). No settle wait,
  no OCR. Per-stage times come from wrapping the stage functions in the child.
- Afterwards the parent checks every page landed: one row per source file whose
  `source_sha256` is that file's hash, nothing quarantined, nothing left in the hot
  folder, and every blob decrypts with central's private key back to those bytes.

The last line is `ingest: P pages/s, peak RSS M MB` for the default backend (the one the
shipped simulated profile names), so scripts can read it.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from PIL import Image

    from juanzong.edge.coversheet import CoverSheetInfo

# One block of 20 pages, in scanner order: the cover sheet first, then its item.
BLOCK = ("cover", *["text"] * 7, "blank", "photo", *["text"] * 7, "waybill", "photo", "blank")
KIND_NAMES = {"cover": "cover sheets", "text": "text", "photo": "photo sheets", "blank": "blank backsides", "waybill": "waybills"}
TARGET_PAGES_PER_S = 20.0  # ten times the fastest scanner in the contract (120 images a minute)
TARGET_RSS_MB = 300
JPEG_QUALITY = 85
STAGE_ORDER = ("decode", "barcode", "route", "qc", "encrypt", "record", "other")
BENCH_CASE = "（2026）京0102民初1234号"
SIMULATED = "simulated"


class BenchFailed(Exception):
    """The benchmark could not stand behind its figure (a page missing, a child that failed)."""


@dataclass(frozen=True)
class PageSpec:
    name: str  # file name in the hot folder: scan_0001.jpg …
    kind: str  # a key of KIND_NAMES
    seed: int
    cover: CoverSheetInfo | None = None  # for "cover"


@dataclass(frozen=True)
class RunResult:
    backend: str
    pages: int
    seconds: float
    rss_mb: float
    stage_median_ms: dict[str, float]
    stage_mean_ms: dict[str, float]
    outcomes: dict[str, int]
    file_ms: dict[str, float]  # source name → wall time of its `take`
    cascades: dict[str, int]  # barcode stages tried ("half", "half+full", …) → pages
    profile: list[dict] = field(default_factory=list)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Verified:
    pages: int
    decrypted: int
    covers: int  # cover sheets recognised (role "cover")
    expected_covers: int
    roles: dict[str, int]


# ---------------------------------------------------------------- parent: the run


@dataclass(frozen=True)
class Workspace:
    """Everything the backend runs share: rendered pages, the template home, central's key."""

    root: Path  # on disk: pages, homes (data and blobs), profiles, results
    hot: Path  # parent of each run's hot folder (tmpfs when there is one)
    template: Path  # the appliance home each run copies
    specs: tuple[PageSpec, ...]
    hashes: dict[str, str]  # file name → sha256 of its bytes
    central_private: object  # X25519PrivateKey: opens every blob the appliance sealed to central

    @property
    def pages_dir(self) -> Path:
        return self.root / "pages"

    @property
    def covers(self) -> int:
        return sum(1 for s in self.specs if s.kind == "cover")


def main(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BenchFailed as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    n = int(args.pages)
    if n < 1:
        raise BenchFailed("--pages must be at least 1")
    default = _default_backend()
    baseline = [] if getattr(args, "no_baseline", False) else [b for b in ("zxing", "pyzbar") if b != default]
    cpu = max(os.sched_getaffinity(0))
    with (
        tempfile.TemporaryDirectory(prefix="juanzong-bench-") as tmp,
        tempfile.TemporaryDirectory(prefix="juanzong-bench-hot-", dir=_hot_parent(args, n)) as hot,
    ):
        ws = prepare(Path(tmp), Path(hot), n)
        _print_header(ws, cpu)
        results = {b: run_backend(ws, b, cpu) for b in [default, *baseline]}
        if getattr(args, "ocr_beside", False):
            results[f"{default}-ocr"] = run_beside_ocr(ws, default, cpu)
        checks = {b: verify(ws, b) for b in results}
        if getattr(args, "profile", False):
            _print_profile(run_backend(ws, default, cpu, profile=True, name=f"{default}-profile"))
    _print_results(results, checks, default, ws.specs)
    return 0


def _hot_parent(args: argparse.Namespace, n: int) -> str | None:
    """Where the hot folder goes: tmpfs, as on the appliance (plaintext never reaches flash, see
    firmware_profiles/appliances), unless asked for the disk or tmpfs is missing or too small."""
    shm = Path("/dev/shm")
    if getattr(args, "hot_disk", False) or not shm.is_dir():
        return None
    return str(shm) if shutil.disk_usage(shm).free > n * 4_000_000 else None


def _default_backend() -> str:
    from juanzong.edge.devices.profiles import get_scanner

    return get_scanner(SIMULATED).barcode_backend


def prepare(root: Path, hot: Path, n: int) -> Workspace:
    """Central key pair, one appliance home with an intake of ⌈n/20⌉ items, and n rendered pages."""
    private, identity = make_central(root)
    template = root / "template"
    covers = _template_home(template, identity, -(-n // len(BLOCK)))
    specs = tuple(plan_pages(n, covers))
    return Workspace(root=root, hot=hot, template=template, specs=specs, hashes=render_all(specs, root / "pages"), central_private=private)


def make_central(root: Path):
    """A central HPKE + signing key pair for this run; returns (hpke private key, identity file)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from juanzong.shared import crypto

    hpke, signing = X25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ident = {
        "central_id": "C-BENCH",
        "url": "",
        "hpke_public": crypto.b64(crypto.public_bytes(hpke.public_key())),
        "signing_public": crypto.b64(crypto.public_bytes(signing.public_key())),
    }
    path = root / "central-identity.json"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ident), "utf-8")
    return hpke, path


def _template_home(home: Path, identity: Path, n_items: int) -> list:
    """The home each backend gets a copy of; returns the cover-sheet infos of its items."""
    from juanzong.edge import intake, repo
    from juanzong.edge.config import load_settings
    from juanzong.edge.coversheet import CoverSheetInfo
    from juanzong.edge.home import init_home

    init_home(home, profile=SIMULATED, central_identity=identity, name="基准测试")
    settings = load_settings(home)
    db = repo.connect(settings)
    try:
        registered = intake.register(
            db,
            settings,
            case_text=BENCH_CASE,
            submitter="张三",
            items=[intake.ItemSpec(f"证据材料{k + 1}", len(BLOCK) - 1) for k in range(n_items)],
            received_at=datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
        )
    finally:
        db.close()
    return [
        CoverSheetInfo(
            item_id=it.item_id,
            intake_id=registered.intake_id,
            case_number=registered.case.canonical,
            item_name=it.name,
            declared_pages=it.declared_pages,
            item_seq=it.seq,
            item_count=n_items,
        )
        for it in registered.items
    ]


def plan_pages(n: int, covers: list) -> list[PageSpec]:
    """The first n pages of the repeated block; block k's cover sheet names item k."""
    specs = []
    for i in range(n):
        kind = BLOCK[i % len(BLOCK)]
        cover = covers[i // len(BLOCK)] if kind == "cover" else None
        specs.append(PageSpec(name=f"scan_{i + 1:04d}.jpg", kind=kind, seed=1000 + i, cover=cover))
    return specs


def render_all(specs: tuple[PageSpec, ...], out: Path) -> dict[str, str]:
    """Render every page once (on every core: generation is not what is measured); name → sha256."""
    out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=max(1, len(os.sched_getaffinity(0)))) as pool:
        digests = list(pool.map(render_page, specs, [out] * len(specs)))
    return {s.name: d for s, d in zip(specs, digests)}


def render_page(spec: PageSpec, out: Path) -> str:
    """Write one page as the scanner would (colour JPEG q85, 300 dpi); returns its sha256."""
    from juanzong.edge.coversheet import render_cover_sheet
    from juanzong.edge.tooling import pages

    def cover() -> Image.Image:
        if spec.cover is None:
            raise BenchFailed(f"{spec.name}: a cover page without its cover sheet")
        return render_cover_sheet(spec.cover).convert("RGB")  # scanned in colour mode

    makers = {
        "cover": cover,
        "text": lambda: pages.text_page(spec.seed),
        "photo": lambda: pages.photo_page(spec.seed),
        "blank": lambda: pages.blank_backside(spec.seed),
        "waybill": lambda: pages.waybill_page(spec.seed).convert("RGB"),
    }
    data = pages.jpeg_bytes(makers[spec.kind](), quality=JPEG_QUALITY)
    (out / spec.name).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- parent: one backend


def run_backend(ws: Workspace, backend: str, cpu: int, *, profile: bool = False, name: str | None = None) -> RunResult:
    """One timed run in a child process pinned to `cpu`, on a fresh copy of the template home."""
    name = name or backend
    home = ws.root / "homes" / name
    shutil.copytree(ws.template, home)
    _set_hot_folder(home, ws.hot / name)
    env = {**os.environ, "JUANZONG_PROFILES": str(_profiles_root(ws.root, backend))}
    job: dict[str, Any] = {
        "home": str(home),
        "pages": str(ws.pages_dir),
        "cpu": cpu,
        "profile": profile,
        "out": str(ws.root / f"{name}.json"),
    }
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "juanzong.edge.tooling.bench", "--child", json.dumps(job)], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise BenchFailed(f"{name} run exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return RunResult(**json.loads(Path(job["out"]).read_text("utf-8")))


def run_beside_ocr(ws: Workspace, backend: str, cpu: int) -> RunResult:
    """The same run while the OCR worker's load (nice 10, edge.tooling.ocrbench) keeps both cores busy."""
    ready = ws.root / "ocr-ready"
    load = subprocess.Popen([sys.executable, "-P", "-m", "juanzong.edge.tooling.ocrbench", "load", str(ready)])
    try:
        end = time.monotonic() + 300
        while not ready.exists() and load.poll() is None and time.monotonic() < end:
            time.sleep(0.2)
        if not ready.exists():
            raise BenchFailed("the OCR load did not start")
        return run_backend(ws, backend, cpu, name=f"{backend}-ocr")
    finally:
        load.terminate()
        load.wait(timeout=30)


def _set_hot_folder(home: Path, hot: Path) -> None:
    from juanzong.edge.config import config_path

    hot.mkdir(parents=True)
    path = config_path(home)
    text, count = re.subn(r"(?m)^hot_folder = .*$", lambda _m: f"hot_folder = {json.dumps(str(hot))}", path.read_text("utf-8"))
    if count != 1:
        raise BenchFailed(f"cannot set hot_folder in {path}")
    path.write_text(text, "utf-8")


def _profiles_root(root: Path, backend: str) -> Path:
    """A copy of the shipped profiles with the simulated scanner's barcode backend set."""
    from juanzong.edge.devices.profiles import profiles_root

    target = root / "profiles" / backend
    if not target.exists():
        shutil.copytree(profiles_root(), target)
        path = target / "scanners" / f"{SIMULATED}.toml"
        text, count = re.subn(r'(?m)^backend\s*=\s*"[a-z]+"', f'backend = "{backend}"', path.read_text("utf-8"))
        if count != 1:
            raise BenchFailed(f"cannot set barcode.backend in {path}")
        path.write_text(text, "utf-8")
    return target


def verify(ws: Workspace, name: str) -> Verified:
    """Every source file is one stored page whose blob decrypts (central's key) to the source bytes,
    nothing was quarantined and nothing is left in the hot folder or the spool."""
    from juanzong.edge.config import load_settings

    settings = load_settings(ws.root / "homes" / name)
    rows, quarantined = _stored(settings)
    stored = {r[0]: r[1] for r in rows}
    if len(rows) != len(ws.hashes) or stored != ws.hashes or quarantined:
        wrong = sum(1 for k, v in ws.hashes.items() if stored.get(k) != v)
        raise BenchFailed(f"{name}: {len(rows)} pages stored of {len(ws.hashes)}, {wrong} missing or altered, {quarantined} quarantined")
    left = [p.name for p in settings.hot_folder.rglob("*") if p.is_file()]
    if left:
        raise BenchFailed(f"{name}: files left in the hot folder or spool: {left[:5]}")
    _open_all(settings, rows, ws.central_private, name)
    roles = dict(Counter(r[2] for r in rows))
    return Verified(pages=len(rows), decrypted=len(rows), covers=roles.get("cover", 0), expected_covers=ws.covers, roles=roles)


def _stored(settings) -> tuple[list[tuple], int]:
    from juanzong.edge import repo
    from juanzong.edge.repo import pages, quarantine

    db = repo.connect(settings)
    try:
        return pages.with_blobs(db), quarantine.count(db)
    finally:
        db.close()


def _open_all(settings, rows: list[tuple], central_private, name: str) -> None:
    from juanzong.edge.blobstore import BlobStore
    from juanzong.shared.crypto import open_blob_central, sha256_hex
    from juanzong.shared.errors import AppError

    store = BlobStore(settings.blob_dir)
    for source, digest, _role, blob_id, kind, sealed in rows:
        try:
            plain = open_blob_central(
                store.get(blob_id), sealed, private_key=central_private, appliance_id=settings.appliance_id, blob_id=blob_id, kind=kind
            )
        except (AppError, OSError) as exc:
            raise BenchFailed(f"{name}: the blob of {source} does not open: {exc}") from exc
        if sha256_hex(plain) != digest:
            raise BenchFailed(f"{name}: the blob of {source} does not decrypt to the scanned bytes")


# ---------------------------------------------------------------- parent: output


def _print_header(ws: Workspace, cpu: int) -> None:
    kinds = Counter(s.kind for s in ws.specs)
    mix = ", ".join(f"{KIND_NAMES[k]} {kinds[k]}" for k in KIND_NAMES if kinds[k])
    mb = sum(p.stat().st_size for p in ws.pages_dir.iterdir()) / len(ws.specs) / 1e6
    print(f"juanzong bench ingest: {len(ws.specs)} pages ({mix})")
    print(
        f"A4 300 dpi colour JPEG q{JPEG_QUALITY}, {mb:.2f} MB a page on average; one core (cpu {cpu}), "
        "a fresh appliance home per backend, no OCR"
    )
    print(f"hot folder and spool in {ws.hot} ({_fs_type(ws.hot)}), data and blobs in {ws.root} ({_fs_type(ws.root)})")
    print(
        "timed: files in the hot folder -> durable encrypted pages (claim, decode, barcode, route, qc, "
        "encrypt, blob fsync, commit, release)"
    )
    print()


def _fs_type(path: Path) -> str:
    """The filesystem type of the mount holding `path` (longest mount-point prefix in /proc/mounts)."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "?"
    path = path.resolve()
    best = max((m for m in mounts if path.is_relative_to(m[0])), key=lambda m: len(m[0]), default=["", "?"])
    return best[1]


def _print_results(results: dict[str, RunResult], checks: dict[str, Verified], default: str, specs: tuple[PageSpec, ...]) -> None:
    _print_table(results, checks, default)
    print()
    kinds = {s.name: s.kind for s in specs}
    for r in results.values():
        _print_details(r, kinds)
    for backend, v in checks.items():
        roles = ", ".join(f"{k} {n}" for k, n in sorted(v.roles.items()))
        print(f"verified {backend}: {v.pages} pages stored ({roles}), {v.decrypted} blobs decrypt to the scanned bytes")
    main_run = results[default]
    met = main_run.pages_per_s >= TARGET_PAGES_PER_S and main_run.rss_mb < TARGET_RSS_MB
    print(f"target {TARGET_PAGES_PER_S:.0f} pages/s and < {TARGET_RSS_MB} MB on one core: {'met' if met else 'MISSED'}")
    print(f"ingest: {main_run.pages_per_s:.1f} pages/s, peak RSS {main_run.rss_mb:.0f} MB")


def _print_table(results: dict[str, RunResult], checks: dict[str, Verified], default: str) -> None:
    print(f"{'backend':<9}{'pages':>7}{'seconds':>10}{'pages/s':>10}{'peak RSS MB':>13}{'covers read':>13}")
    for backend, r in results.items():
        covers = f"{checks[backend].covers}/{checks[backend].expected_covers}"
        print(f"{backend:<9}{r.pages:>7}{r.seconds:>10.2f}{r.pages_per_s:>10.1f}{r.rss_mb:>13.0f}{covers:>13}")
    for backend, r in results.items():
        if backend != default:
            print(
                f"{default} vs {backend} (baseline in the same run): "
                f"{results[default].pages_per_s / r.pages_per_s:.2f}x the pages per second"
            )


def _print_details(r: RunResult, kinds: dict[str, str]) -> None:
    """Where one backend's time went: stage times, file times by page kind, barcode escalations."""
    print(
        f"stage ms per page, {r.backend} (median / mean): "
        + ", ".join(f"{s} {r.stage_median_ms[s]:.1f}/{r.stage_mean_ms[s]:.1f}" for s in STAGE_ORDER if s in r.stage_mean_ms)
    )
    by_kind: dict[str, list[float]] = {}
    for name, ms in r.file_ms.items():
        by_kind.setdefault(kinds[name], []).append(ms)
    print(
        f"ms per file by kind, {r.backend} (mean / max): "
        + ", ".join(f"{k} {statistics.mean(by_kind[k]):.0f}/{max(by_kind[k]):.0f}" for k in KIND_NAMES if k in by_kind)
    )
    print(f"barcode stages per page, {r.backend}: " + ", ".join(f"{c} {n}" for c, n in sorted(r.cascades.items())))


def _print_profile(run: RunResult) -> None:
    print(f"profile of the {run.backend} path (cProfile, own time, ms per page; cProfile slows Python code):")
    for row in run.profile:
        print(f"  {row['own_ms']:>7.2f} own {row['cum_ms']:>8.2f} cum {row['calls']:>7} calls  {row['where']}")
    print()


# ---------------------------------------------------------------- child: one timed run


class StageClock:
    """Wall time of each call of the wrapped stage functions, by stage name, and which barcode
    cascade stages each page needed (the stage that decides most of a page's cost)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.cascades: Counter[str] = Counter()

    def wrap(self, name: str, fn):
        times = self.times.setdefault(name, [])

        @wraps(fn)  # keeps __module__: the pipeline's debug log names the stage by it
        def timed(*a, **kw):
            started = time.perf_counter()
            try:
                result = fn(*a, **kw)
            finally:
                times.append(time.perf_counter() - started)
            if name == "barcode" and result.codes is not None:
                self.cascades["+".join(result.codes.stages)] += 1
            return result

        return timed


def _instrument(clock: StageClock) -> None:
    """Wrap decode, each page stage and record where the appliance looks them up."""
    from juanzong.edge import appliance
    from juanzong.edge.ingest import pipeline

    appliance.decode = clock.wrap("decode", appliance.decode)
    appliance.commit = clock.wrap("record", appliance.commit)
    pipeline.PAGE_STAGES = tuple(clock.wrap(s.__module__.rsplit(".", 1)[-1], s) for s in pipeline.PAGE_STAGES)


def child_main(job: dict) -> None:
    """One backend's timed run; writes a RunResult as JSON to job["out"]."""
    os.sched_setaffinity(0, {job["cpu"]})
    from juanzong.edge.appliance import Appliance
    from juanzong.edge.config import load_settings

    clock = StageClock()
    _instrument(clock)
    app = Appliance(load_settings(Path(job["home"])))
    app.recover()
    for src in sorted(Path(job["pages"]).iterdir()):  # "present in the hot folder": not timed
        shutil.copyfile(src, app.settings.hot_folder / src.name)
    paths = sorted(p for p in app.settings.hot_folder.iterdir() if p.is_file())
    profiler = cProfile.Profile() if job["profile"] else None
    outcomes, file_ms, seconds = _take_all(app, paths, profiler)
    result = _result(app.profile.barcode_backend, outcomes, seconds, clock, profiler, file_ms)
    Path(job["out"]).write_text(json.dumps(asdict(result)), "utf-8")


def _take_all(app, paths: list[Path], profiler: cProfile.Profile | None) -> tuple[list, dict[str, float], float]:
    """The timed part: every file from the hot folder to durable, in name order."""
    outcomes, file_ms = [], {}
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for path in paths:
        took = time.perf_counter()
        outcomes.append(app.take(path))
        file_ms[path.name] = (time.perf_counter() - took) * 1000
    if profiler:
        profiler.disable()
    return outcomes, file_ms, time.perf_counter() - started


def _result(backend: str, outcomes: list, seconds: float, clock: StageClock, profiler, file_ms: dict[str, float]) -> RunResult:
    pages = sum(o.pages for o in outcomes if o is not None)
    totals = {k: sum(v) for k, v in clock.times.items()}
    other = max(seconds - sum(totals.values()), 0.0) / max(pages, 1)  # claim, release, replay check
    median = {k: statistics.median(v) * 1000 for k, v in clock.times.items() if v}
    mean = {k: totals[k] / max(pages, 1) * 1000 for k, v in clock.times.items() if v}
    median["other"], mean["other"] = other * 1000, other * 1000
    return RunResult(
        backend=backend,
        pages=pages,
        seconds=seconds,
        rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        stage_median_ms=median,
        stage_mean_ms=mean,
        outcomes=dict(Counter(o.status if o else "vanished" for o in outcomes)),
        file_ms=file_ms,
        cascades=dict(clock.cascades),
        profile=_top_functions(profiler, pages) if profiler else [],
    )


def _top_functions(profiler: cProfile.Profile, pages: int, top: int = 20) -> list[dict]:
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]  # undocumented, stable, not in typeshed; (file, line, function) → (primitive calls, calls, own, cumulative, callers)
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return [
        {"where": _where(key), "calls": nc, "own_ms": tt * 1000 / max(pages, 1), "cum_ms": ct * 1000 / max(pages, 1)}
        for key, (_cc, nc, tt, ct, _callers) in rows
    ]


def _where(key: tuple[str, int, str]) -> str:
    file, line, func = key
    if file == "~":
        return func  # a C function: cProfile names it "<method 'x' of 'y' objects>"
    parts = Path(file).parts
    short = "/".join(parts[-2:]) if "site-packages" not in parts else "/".join(parts[parts.index("site-packages") + 1 :])
    return f"{short}:{line} {func}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="internal: one timed backend run of `juanzong bench ingest`")
    parser.add_argument("--child", required=True, help="the job as JSON (home, pages, cpu, profile, out)")
    child_main(json.loads(parser.parse_args().child))
