"""Helpers for the crash-safety tests: a scan set with its oracle, the appliance as a
subprocess, and one look at everything it left on disk.

The oracle is the SHA-256 of every file the scanner wrote. After any crash,
each file must be in the hot folder, in the spool, or stored exactly once
(a `pages` row, or a `quarantine` row for the one damaged file), in scanner
order, with its item's page numbers 1..n and every blob on disk; after a clean
run, stored exactly once, every blob decrypting to the scanner's bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from juanzong.shared import crypto

REPO = Path(__file__).resolve().parents[2]
SPOOL = ".juanzong-spool"
CRASH_EXIT = 137
READY_LINE = "watching"  # runner.run logs "appliance … watching …" once the appliance is built


# ---------------------------------------------------------------- the scan set (oracle)


@dataclass(frozen=True)
class ScanFile:
    name: str  # the name the scanner gives it in the hot folder
    source: Path  # where the test keeps the bytes
    sha256: str
    size: int
    kind: str  # "cover" | "page" | "damaged"
    item: int | None  # index of the item the file belongs to (None: before any cover)


@dataclass(frozen=True)
class Template:
    """An initialised, paired appliance home with one intake; tests copy it."""

    home: Path
    intake: object  # edge.intake.Intake: what cover sheets are rendered from
    central_hpke: X25519PrivateKey

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i.item_id for i in self.intake.items)


def make_template(root: Path, items: tuple[tuple[str, int], ...]) -> Template:
    from juanzong.edge.config import load_settings
    from juanzong.edge.home import init_home
    from juanzong.edge.intake import ItemSpec, register
    from juanzong.edge.repo import connect

    hpke = X25519PrivateKey.generate()
    ident = {
        "central_id": "C-CRASH",
        "url": "",
        "hpke_public": crypto.b64(crypto.public_bytes(hpke.public_key())),
        "signing_public": crypto.b64(crypto.public_bytes(Ed25519PrivateKey.generate().public_key())),
    }
    ident_file = root / "central-identity.json"
    ident_file.write_text(json.dumps(ident), "utf-8")
    home = root / "template"
    init_home(home, profile="simulated", central_identity=ident_file)
    settings = load_settings(home)
    db = connect(settings.db_path)
    intake = register(
        db,
        settings,
        case_text="（2026）京0102民初1234号",
        submitter="张三",
        items=[ItemSpec(n, p) for n, p in items],
        received_at=datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
        now=datetime(2026, 3, 2, 10, 5, tzinfo=ZoneInfo("Asia/Shanghai")),
    )  # the test's clock, not today's
    db.close()
    return Template(home, intake, hpke)


def clone_home(template: Template, dest: Path) -> Path:
    """A fresh copy of the template home (same keys and intake, empty hot folder)."""
    shutil.copytree(template.home, dest)
    return dest


def with_scan_comment(jpeg: bytes, text: str) -> bytes:
    """Insert a COM segment after JFIF APP0, as scanners stamp a scan number or time:
    the same rendered page then makes files with distinct bytes and hashes."""
    assert jpeg[:4] == b"\xff\xd8\xff\xe0", "expected a JFIF file"
    end = 4 + int.from_bytes(jpeg[4:6], "big")
    body = text.encode("ascii")
    return jpeg[:end] + b"\xff\xfe" + (len(body) + 2).to_bytes(2, "big") + body + jpeg[end:]


def damaged_jpeg(jpeg: bytes) -> bytes:
    """A transfer that lost its payload: JPEG start and end markers, zeros between."""
    return jpeg[:20] + bytes(len(jpeg) - 22) + b"\xff\xd9"


def write_scan_file(root: Path, name: str, data: bytes, kind: str, item: int | None) -> ScanFile:
    path = root / name
    path.write_bytes(data)
    return ScanFile(name, path, hashlib.sha256(data).hexdigest(), len(data), kind, item)


def renamed(files: list[ScanFile] | tuple[ScanFile, ...]) -> tuple[ScanFile, ...]:
    """The same files as the scanner would number them in a new run: scan_0001.jpg, …"""
    return tuple(ScanFile(f"scan_{i:04d}.jpg", f.source, f.sha256, f.size, f.kind, f.item) for i, f in enumerate(files, start=1))


def hot_folder(home: Path) -> Path:
    from juanzong.edge.config import load_settings

    return load_settings(home).hot_folder


def feed(hot: Path, files: list[ScanFile] | tuple[ScanFile, ...]) -> None:
    """Write files the way scanner drivers do: hidden temp name, then rename into place."""
    for f in files:
        tmp = hot / f".{f.name}.tmp"
        shutil.copyfile(f.source, tmp)
        os.replace(tmp, hot / f.name)


# ---------------------------------------------------------------- the appliance as a process


def _env(crash_at: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JUANZONG_CRASH_AT"}
    if crash_at:
        env["JUANZONG_CRASH_AT"] = crash_at
    return env


def ingest_once(home: Path, crash_at: str | None = None, settle: float = 0.05, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-P",
        "-m",
        "juanzong.shared.cli",
        "edge",
        "ingest",
        "--home",
        str(home),
        "--once",
        "--settle",
        str(settle),
        "--json",
    ]
    return subprocess.run(cmd, cwd=REPO, env=_env(crash_at), capture_output=True, text=True, timeout=timeout)


def start_run(home: Path, log: Path) -> subprocess.Popen:
    """`edge run` in the background; its log (stderr) goes to `log`, which is truncated."""
    cmd = [sys.executable, "-P", "-m", "juanzong.shared.cli", "edge", "run", "--home", str(home)]
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, cwd=REPO, env=_env(None), stdout=subprocess.DEVNULL, stderr=out)


def wait_for_line(proc: subprocess.Popen, log: Path, text: str, timeout: float = 30) -> float:
    """Seconds until `text` appears in the log; fails if the process exits first."""
    started = time.monotonic()
    while text not in log.read_text("utf-8", errors="replace"):
        assert proc.poll() is None, f"edge run exited {proc.returncode} before '{text}':\n{log.read_text('utf-8')[-2000:]}"
        assert time.monotonic() - started < timeout, f"no '{text}' in the log after {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - started


def kill_9(proc: subprocess.Popen) -> bool:
    """SIGKILL; True if the process was still alive (a real kill, not a corpse)."""
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return alive


def stop(proc: subprocess.Popen, timeout: float = 30) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout)


# ---------------------------------------------------------------- what is on disk


@dataclass(frozen=True)
class Stored:
    claim: str  # spool name without the "#index" suffix
    table: str  # "pages" | "quarantine"
    row_id: str
    source_name: str
    source_sha256: str
    blob_id: str
    item_id: str | None
    page_no: int | None
    role: str


@dataclass(frozen=True)
class DiskState:
    hot: dict[str, int]  # name → size, candidate files still in the hot folder
    spool: dict[str, str]  # spool file name → SHA-256 of its bytes
    stored: tuple[Stored, ...]
    blob_rows: frozenset[str]
    blob_files: frozenset[str]  # ids of complete `.jzb` files
    temps: frozenset[str]  # relative paths of temp files under data/blobs
    integrity: str
    audit_break: int | None
    audit_actions: dict[str, int]

    def spooled_names(self) -> list[str]:
        """The scanner's names of the files in the spool, in claim order."""
        return [name.split("__", 1)[1] for name in sorted(self.spool)]

    @property
    def orphans(self) -> frozenset[str]:
        return self.blob_files - self.blob_rows

    def by_sha(self) -> dict[str, list[Stored]]:
        out: dict[str, list[Stored]] = {}
        for s in self.stored:
            out.setdefault(s.source_sha256, []).append(s)
        return out


def look(home: Path) -> DiskState:
    """Everything the crash invariants need, read while the appliance is not running."""
    from juanzong.edge import audit
    from juanzong.edge.config import load_settings
    from juanzong.edge.repo import connect

    settings = load_settings(home)
    db = connect(settings.db_path)
    try:
        stored = _stored_rows(db)
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        actions = dict(db.execute("SELECT action, COUNT(*) FROM audit GROUP BY action").fetchall())
        blob_rows = frozenset(r[0] for r in db.execute("SELECT id FROM blobs").fetchall())
        audit_break = audit.verify_chain(db)
    finally:
        db.close()
    files, temps = _blob_files(settings.blob_dir)
    return DiskState(
        _hot(settings.hot_folder), _spool(settings.hot_folder / SPOOL), stored, blob_rows, files, temps, integrity, audit_break, actions
    )


def _stored_rows(db) -> tuple[Stored, ...]:
    pages = db.execute("SELECT claim, id, source_name, source_sha256, blob_id, item_id, page_no, role FROM pages").fetchall()
    quarantined = db.execute("SELECT claim, id, source_name, source_sha256, blob_id FROM quarantine").fetchall()
    return (
        *(Stored(r[0].rsplit("#", 1)[0], "pages", *r[1:]) for r in pages),
        *(Stored(r[0], "quarantine", *r[1:], None, None, "quarantined") for r in quarantined),
    )


def waiting(hot: Path) -> bool:
    """Anything left in the hot folder or its spool."""
    spool = hot / SPOOL
    return any(p.is_file() for p in hot.iterdir()) or (spool.exists() and any(spool.iterdir()))


def _hot(hot: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in hot.iterdir() if p.is_file()}


def _spool(spool: Path) -> dict[str, str]:
    files = [p for p in spool.iterdir() if p.is_file()] if spool.exists() else []  # made by the first start
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _blob_files(root: Path) -> tuple[frozenset[str], frozenset[str]]:
    files, temps = set(), set()
    for p in root.glob("*/*"):
        if p.name.startswith(".tmp-") or p.name.endswith(".tmp"):  # shared.durable's temp names
            temps.add(str(p.relative_to(root)))
        elif p.suffix == ".jzb":
            files.add(p.stem)
    return frozenset(files), frozenset(temps)


# ---------------------------------------------------------------- the invariants


def check_consistent(state: DiskState, fed: tuple[ScanFile, ...], item_ids: tuple[str, ...]) -> None:
    """What must hold after any crash, before recovery has run."""
    assert state.integrity == "ok", state.integrity
    assert state.audit_break is None, f"audit chain broken at seq {state.audit_break}"
    missing = {s.blob_id for s in state.stored if s.blob_id} - state.blob_files  # set-aside files have no blob
    assert not missing, f"rows whose blob file is gone: {sorted(missing)}"
    assert state.blob_rows <= state.blob_files, f"blob rows without a file: {sorted(state.blob_rows - state.blob_files)}"
    _check_each_file_once(state, fed)
    _check_scanner_order(state, fed)
    _check_numbering(state, fed, item_ids)
    _check_audit_counts(state)


def _check_each_file_once(state: DiskState, fed: tuple[ScanFile, ...]) -> None:
    by_sha, known = state.by_sha(), {f.sha256: f for f in fed}
    spooled = dict(zip(state.spooled_names(), (state.spool[n] for n in sorted(state.spool))))
    for sha, rows in by_sha.items():
        assert sha in known, f"a stored row matches no scanned file: {rows[0]}"
        assert len({(r.table, r.claim) for r in rows}) == 1, f"{known[sha].name} stored {len(rows)} times: {rows}"
        assert rows[0].source_name == known[sha].name, f"{known[sha].name} stored under the name {rows[0].source_name}"
    for f in fed:
        in_hot = state.hot.get(f.name) == f.size
        in_spool = spooled.get(f.name) == f.sha256
        assert in_hot or in_spool or f.sha256 in by_sha, f"{f.name} lost: not in the hot folder, the spool or the database"
    unknown = (set(state.hot) | set(spooled)) - {f.name for f in fed}
    assert not unknown, f"files nobody scanned: {sorted(unknown)}"


def _check_scanner_order(state: DiskState, fed: tuple[ScanFile, ...]) -> None:
    """One file at a time, in scanner order: what is stored is always the first k files."""
    stored = state.by_sha()
    flags = [f.sha256 in stored for f in fed]
    k = sum(flags)
    assert flags == [True] * k + [False] * (len(fed) - k), f"stored out of scanner order: {[f.name for f, s in zip(fed, flags) if s]}"


def _check_numbering(state: DiskState, fed: tuple[ScanFile, ...], item_ids: tuple[str, ...]) -> None:
    expected = {f.sha256: f for f in fed}
    for n, item_id in enumerate(item_ids):
        pages = sorted((s for s in state.stored if s.item_id == item_id and s.role == "page"), key=lambda s: s.page_no)
        assert [s.page_no for s in pages] == list(range(1, len(pages) + 1)), f"item {n + 1} page numbers {[s.page_no for s in pages]}"
        order = [s.source_name for s in pages]
        assert order == sorted(order), f"item {n + 1} pages out of scanner order: {order}"
    for s in state.stored:
        f = expected[s.source_sha256]
        want_item = item_ids[f.item] if f.item is not None and f.kind != "damaged" else None
        want_role = {"cover": "cover", "page": "page", "damaged": "quarantined"}[f.kind]
        assert (s.role, s.item_id) == (want_role, want_item), (
            f"{f.name} recorded as {s.role} of {s.item_id}, expected {want_role} of {want_item}"
        )


def _check_audit_counts(state: DiskState) -> None:
    """A rolled-back transaction leaves no audit row: one "scan" per stored file, one "quarantine" per quarantined."""
    files = {(s.table, s.claim) for s in state.stored}
    assert state.audit_actions.get("scan", 0) == sum(1 for t, _ in files if t == "pages")
    assert state.audit_actions.get("quarantine", 0) == sum(1 for t, _ in files if t == "quarantine")


def check_swept(before: DiskState, after: DiskState) -> None:
    """Recovery starts with the sweep: no temp or orphan blob of an earlier run survives it."""
    survivors = before.temps & after.temps
    assert not survivors, f"temporary blobs survived a restart: {sorted(survivors)}"
    orphans = before.orphans & after.blob_files
    assert not orphans, f"orphan blobs survived a restart: {sorted(orphans)}"


def check_recovered(before: DiskState, after: DiskState) -> None:
    """A restart that got past recovery swept the temp and orphan blobs and finished the spool."""
    check_swept(before, after)
    spooled = set(before.spool) & set(after.spool)
    assert not spooled, f"spool files not finished by recovery: {sorted(spooled)}"


def swept(before: DiskState, after: DiskState, waiting: set[str]) -> bool:
    """The run stored or claimed something, so the sweep (the first thing recovery does) ran."""
    return len(after.stored) > len(before.stored) or claimed_new(waiting, after)


def claimed_new(waiting: set[str], after: DiskState) -> bool:
    """A file waiting at the start left the hot folder: new claims come only after
    recovery has finished the spool."""
    return not set(after.hot) >= waiting


def check_complete(state: DiskState, fed: tuple[ScanFile, ...], item_ids: tuple[str, ...]) -> None:
    """After a clean run: nothing waits, everything is stored once, nothing stray on disk."""
    check_consistent(state, fed, item_ids)
    assert not state.hot and not state.spool, f"left waiting: {sorted(state.hot)} spool {sorted(state.spool)}"
    assert set(state.by_sha()) == {f.sha256 for f in fed}
    assert not state.temps, f"temporary blobs left: {sorted(state.temps)}"
    assert not state.orphans, f"orphan blobs left: {sorted(state.orphans)}"


def check_blobs_open(home: Path, central_hpke: X25519PrivateKey) -> int:
    """Every stored blob opens, with the appliance KEK and at central, to the scanner's bytes."""
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.config import load_settings
    from juanzong.edge.keys import load_keys
    from juanzong.edge.repo import connect

    settings = load_settings(home)
    kek, store = load_keys(settings.keys_dir).kek, BlobStore(settings.blob_dir)
    db = connect(settings.db_path)
    sql = """SELECT p.source_sha256, b.id, b.kind, b.wrapped_local, b.sealed_central FROM pages p JOIN blobs b ON b.id = p.blob_id
             UNION ALL SELECT q.source_sha256, b.id, b.kind, b.wrapped_local, b.sealed_central FROM quarantine q JOIN blobs b ON b.id = q.blob_id"""
    rows = db.execute(sql).fetchall()
    db.close()
    for sha, blob_id, kind, wrapped, sealed in rows:
        data = store.get(blob_id)
        local = crypto.open_blob_local(data, wrapped, kek=kek, appliance_id=settings.appliance_id, blob_id=blob_id, kind=kind)
        central = crypto.open_blob_central(
            data, sealed, private_key=central_hpke, appliance_id=settings.appliance_id, blob_id=blob_id, kind=kind
        )
        assert crypto.sha256_hex(local) == crypto.sha256_hex(central) == sha, f"blob {blob_id} does not open to its source"
    return len(rows)
