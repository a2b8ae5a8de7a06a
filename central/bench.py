"""`juanzong bench central`: central on both stacks, in one run, on this machine.

For each stack — {SQLite + local disk} and {PostgreSQL + S3 (SeaweedFS)},
the second started here as a private PostgreSQL cluster (fsync on) and a
`weed mini`, both on loopback — it measures:

- **receive**: 8 simulated appliances (threads of this process, each with its
  own signing key, TLS client certificate and keep-alive session) send their
  batches at once over mutual TLS to `central serve --workers N`: every page a
  PUT of its sealed blob (random plaintext of `--page-kb`, sealed exactly as
  an appliance does), then the signed manifest; timed from the first request
  to the last signed receipt. Pages per second *accepted and acknowledged*.
  Sealing happens before the clock starts. The clients share the 2 cores.
- **verify**: `central verify` over what was received (reads every object
  once, re-hashes, decrypts every page): pages/s and MB/s.
- **report**: `central report --json` over a separate database loaded with
  `--report-pages` synthetic page rows (100 pages per batch, 10 per item, 5
  items per intake, one item in 50 short of a page), checked against the
  expected totals. Target: under 60 s for 1 M rows.
- **memory**: peak RSS of the central workers (all together), of the verify
  and report processes, and of the PostgreSQL and SeaweedFS servers.

Every figure is checked before it is printed: all receipts 201, verify clean,
report totals as loaded. The last lines are one `central[<stack>]: …` line per stack.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACKS = ("sqlite-local", "postgres-s3")
MB = 1024 * 1024


class BenchFailed(Exception):
    """A figure the benchmark cannot stand behind (a refused batch, a failed verify)."""


@dataclass
class Figures:
    stack: str
    pages: int = 0
    megabytes: float = 0.0
    receive_s: float = 0.0
    workers_rss_mb: float = 0.0
    verify_s: float = 0.0
    verify_rss_mb: float = 0.0
    report_rows: int = 0
    load_s: float = 0.0
    report_s: float = 0.0
    report_rss_mb: float = 0.0
    servers_rss_mb: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        servers = "".join(f", {k} {v:.0f} MB" for k, v in self.servers_rss_mb.items())
        return (
            f"central[{self.stack}]: receive {self.pages / self.receive_s:.1f} pages/s "
            f"({self.megabytes / self.receive_s:.1f} MB/s); verify {self.pages / self.verify_s:.1f} pages/s "
            f"({self.megabytes / self.verify_s:.1f} MB/s); report over {self.report_rows:,} page rows {self.report_s:.1f} s; "
            f"peak RSS workers {self.workers_rss_mb:.0f} MB, verify {self.verify_rss_mb:.0f} MB, "
            f"report {self.report_rss_mb:.0f} MB{servers}"
        )


@dataclass(frozen=True)
class Appliance:
    appliance_id: str
    signing: Any
    kek: bytes
    cert: Path
    key: Path
    batches: list[tuple[list[tuple[str, bytes]], Any]]  # ([(sha256, sealed bytes)], signed manifest)


def main(args: argparse.Namespace) -> int:
    from juanzong.central.labstack import open_for_postgres, start_province

    stacks = [s for s in args.stacks.split(",") if s]
    root = Path(tempfile.mkdtemp(prefix="juanzong-bench-central-"))
    open_for_postgres(root)
    lab = start_province(root / "lab", durable=True) if "postgres-s3" in stacks else None
    print(
        f"bench central: {args.appliances} appliances × {args.batches} batches × {args.pages_per_batch} pages of "
        f"{args.page_kb} KB, {args.workers} workers; report over {args.report_pages:,} page rows; {os.cpu_count()} CPUs"
    )
    try:
        results = [run_stack(stack, root / stack, lab, args) for stack in stacks]
    except BenchFailed as exc:
        print(f"bench central FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if lab is not None:
            lab.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    for fig in results:
        print(fig.line())
    return 0


def run_stack(stack: str, work: Path, lab: Any, args: argparse.Namespace) -> Figures:
    from juanzong.central.home import init_home

    work.mkdir(parents=True)
    fig = Figures(stack)
    port = _free_port()
    settings = lab.central_settings(f"bench_{os.getpid()}", "bench/") if lab and stack == "postgres-s3" else {}
    home = work / "central"
    init_home(home, "127.0.0.1", port, tls=True, extra=settings)
    appliances = _appliances(home, work, args)
    fig.pages = args.appliances * args.batches * args.pages_per_batch
    fig.megabytes = sum(len(b) for a in appliances for blobs, _ in a.batches for _, b in blobs) / MB
    print(f"[{stack}] receiving {fig.pages} pages ({fig.megabytes:.0f} MB) …", flush=True)
    fig.receive_s, fig.workers_rss_mb, fig.servers_rss_mb = _receive(home, port, appliances, lab if settings else None, args)
    del appliances  # the sealed pages: not held through the rest of the run
    print(f"[{stack}] verifying …", flush=True)
    fig.verify_s, fig.verify_rss_mb = _verify(home, fig.pages)
    report_settings = {"database_url": lab.pg.create_database(f"report_{os.getpid()}")} if settings else {}
    report_home = work / "report"
    init_home(report_home, "127.0.0.1", port, tls=False, extra={**settings, **report_settings})
    print(f"[{stack}] loading {args.report_pages:,} page rows …", flush=True)
    fig.load_s, expected = _load_rows(report_home, args.report_pages)
    fig.report_rows = args.report_pages
    fig.report_s, fig.report_rss_mb = _report(report_home, expected)
    print(f"[{stack}] report {fig.report_s:.1f} s (rows loaded in {fig.load_s:.0f} s)", flush=True)
    return fig


# --- appliances and their batches -------------------------------------------------------------


def _appliances(home: Path, work: Path, args: argparse.Namespace) -> list[Appliance]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from juanzong.central.appliances import enroll, parse_identity
    from juanzong.central.config import load_settings
    from juanzong.central.home import open_central
    from juanzong.central.tls import issue_client
    from juanzong.shared import crypto, tlsca
    from juanzong.shared.ids import Kind, new_id

    settings = load_settings(home)
    central = open_central(settings)
    hpke_public = central.keys.hpke.public_key()
    out = []
    try:
        for n in range(args.appliances):
            signing, appliance_id = Ed25519PrivateKey.generate(), new_id(Kind.APPLIANCE)
            ident = {
                "appliance_id": appliance_id,
                "signing_public": crypto.b64(crypto.public_bytes(signing.public_key())),
                "name": f"基准扫描点{n + 1}",
            }
            enroll(central.repo, parse_identity(ident, "bench"))
            tls_key = tlsca.new_key()
            cert, key = work / f"{appliance_id}.crt", work / f"{appliance_id}.key"
            cert.write_text(issue_client(settings.keys_dir, tlsca.new_csr(tls_key, appliance_id).decode("ascii"), appliance_id))
            key.write_bytes(tlsca.key_pem(tls_key))
            kek = crypto.new_kek()
            batches = [_batch(appliance_id, signing, kek, hpke_public, seq, args) for seq in range(1, args.batches + 1)]
            out.append(Appliance(appliance_id, signing, kek, cert, key, batches))
    finally:
        central.close()
    return out


def _batch(
    appliance_id: str, signing: Any, kek: bytes, hpke_public: Any, seq: int, args: argparse.Namespace
) -> tuple[list[tuple[str, bytes]], Any]:
    from juanzong.shared import crypto
    from juanzong.shared.ids import Kind, new_id
    from juanzong.shared.manifest import sign_document

    intake_id, item_id = new_id(Kind.INTAKE), new_id(Kind.ITEM)
    intake = {
        "intake_id": intake_id,
        "case_number": "（2026）京0102民初1234号",
        "case": {"year": 2026, "court": "京0102", "type_code": "民初", "number": 1234},
        "submitter": "张三",
        "received_at": "2026-03-02T10:30:00+08:00",
        "deadline": "2026-03-02T18:00:00+08:00",
        "urgent": False,
    }
    item = {
        "item_id": item_id,
        "intake_id": intake_id,
        "seq": 1,
        "name": "证据材料",
        "declared_pages": args.pages_per_batch,
        "volume": "main",
        "catalog_dir": "证据材料",
        "original": True,
        "colour": True,
    }
    blobs, pages = [], []
    for page_no in range(1, args.pages_per_batch + 1):
        plain, page_id = os.urandom(args.page_kb * 1024), new_id(Kind.PAGE)
        sealed = crypto.seal_blob(plain, appliance_id=appliance_id, blob_id=page_id, kind="page", kek=kek, central_public=hpke_public)
        blobs.append((sealed.sha256, sealed.data))
        pages.append(
            {
                "page_id": page_id,
                "item_id": item_id,
                "page_no": page_no,
                "side": "recto",
                "source_name": f"scan_{seq:04d}_{page_no:03d}.jpg",
                "source_sha256": crypto.sha256_hex(plain),
                "source_size": len(plain),
                "width": 2480,
                "height": 3508,
                "dpi": 300,
                "mode": "RGB",
                "findings": [],
                "scanned_at": "2026-03-02T11:00:00+08:00",
                "blob": {"sha256": sealed.sha256, "size": sealed.size, "kind": "page", "sealed_key": crypto.b64(sealed.sealed_central)},
            }
        )
    doc = {
        "schema": 1,
        "appliance_id": appliance_id,
        "batch_id": new_id(Kind.BATCH),
        "seq": seq,
        "created_at": "2026-03-02T12:00:00+08:00",
        "intakes": [intake],
        "items": [item],
        "pages": pages,
        "audit_head": {"seq": 0, "hash": "0" * 64},
    }
    return blobs, sign_document(doc, signing)


# --- receive ----------------------------------------------------------------------------------


def _receive(
    home: Path, port: int, appliances: list[Appliance], lab: Any, args: argparse.Namespace
) -> tuple[float, float, dict[str, float]]:
    """Seconds until every batch is acknowledged; peak RSS of the workers, and of the lab servers."""
    server = _spawn(["central", "serve", "--home", str(home), "--workers", str(args.workers)], home.parent / "serve.log")
    watched = {"PostgreSQL": lab.pg.proc.pid, "SeaweedFS": lab.s3.proc.pid} if lab else {}
    try:
        _wait_health(home, port, appliances[0], server)
        with _PeakRss({"workers": server.pid, **watched}) as peak:
            start = time.perf_counter()
            with ThreadPoolExecutor(len(appliances)) as pool:
                list(pool.map(lambda a: _send_all(home, port, a), appliances))
            elapsed = time.perf_counter() - start
    finally:
        _stop(server)
    return elapsed, peak.mb["workers"], {k: peak.mb[k] for k in watched}


def _session(home: Path, appliance: Appliance) -> Any:
    import requests

    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy, and no REQUESTS_CA_BUNDLE overriding the court CA
    session.cert = (str(appliance.cert), str(appliance.key))
    session.verify = str(home / "keys" / "ca.crt")
    session.headers["X-Appliance-Id"] = appliance.appliance_id
    return session


def _send_all(home: Path, port: int, appliance: Appliance) -> None:
    url = f"https://127.0.0.1:{port}"
    with _session(home, appliance) as session:
        for blobs, signed in appliance.batches:
            for sha256, data in blobs:
                resp = session.put(
                    f"{url}/api/blobs/{sha256}", data=data, headers={"Content-Type": "application/octet-stream"}, timeout=120
                )
                if resp.status_code != 201:
                    raise BenchFailed(f"blob {sha256[:12]}: HTTP {resp.status_code} {resp.text[:200]}")
            resp = session.post(f"{url}/api/manifests", json=signed.to_wire(), timeout=120)
            receipt = resp.json().get("receipt", {}) if resp.status_code == 201 else {}
            if json.loads(receipt.get("body", "{}")).get("manifest_sha256") != signed.sha256:
                raise BenchFailed(f"manifest of {appliance.appliance_id}: HTTP {resp.status_code} {resp.text[:200]}")


def _wait_health(home: Path, port: int, appliance: Appliance, server: subprocess.Popen[bytes]) -> None:
    import requests

    end = time.monotonic() + 60
    with _session(home, appliance) as session:
        while time.monotonic() < end:
            if server.poll() is not None:
                raise BenchFailed(f"central serve exited ({server.returncode}); see {home.parent / 'serve.log'}")
            try:
                if session.get(f"https://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
    raise BenchFailed("central serve did not answer within 60 s")


class _PeakRss:
    """Samples the RSS of process trees (each root with its children) every 0.1 s; peak MB per name."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots, self.mb = roots, {name: 0.0 for name in roots}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.1):
            for name, pid in self.roots.items():
                try:
                    root = psutil.Process(pid)
                    rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                except psutil.Error:
                    continue
                self.mb[name] = max(self.mb[name], rss / MB)


# --- verify and report ------------------------------------------------------------------------


def _verify(home: Path, pages: int) -> tuple[float, float]:
    seconds, rss, out = _timed(["central", "verify", "--home", str(home), "--json"])
    result = json.loads(out)
    if not result["ok"] or result["decrypted_ok"] != pages:
        raise BenchFailed(f"verify: {result['decrypted_ok']} of {pages} pages ok, failures {result['failures'][:3]}")
    return seconds, rss


def _report(home: Path, expected: dict[str, int]) -> tuple[float, float]:
    seconds, rss, out = _timed(["central", "report", "--home", str(home), "--json"])
    totals = json.loads(out)["totals"]
    got = {k: totals[k] for k in expected}
    if got != expected:
        raise BenchFailed(f"report totals {got} != loaded {expected}")
    return seconds, rss


def _timed(argv: list[str]) -> tuple[float, float, str]:
    """Run a `juanzong` command; (seconds, its peak RSS in MB, stdout).

    The RSS is sampled (every 0.1 s): a child's own ru_maxrss starts from its
    parent's RSS at fork on Linux, which would report this process, not the command."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-P", "-m", "juanzong.shared.cli", *argv], stdout=out, stderr=errors)
        with _PeakRss({"command": proc.pid}) as peak:
            proc.wait()
        seconds = time.perf_counter() - start
        out.seek(0)
        errors.seek(0)
        text, err = out.read().decode("utf-8"), errors.read().decode("utf-8", "replace")
    if proc.returncode != 0 and not text:
        raise BenchFailed(f"{' '.join(argv[:2])} failed: {err[-500:]}")
    return seconds, peak.mb["command"], text


# --- synthetic rows for the report ------------------------------------------------------------

PAGES_PER_ITEM, ITEMS_PER_INTAKE, PAGES_PER_BATCH, APPLIANCES = 10, 5, 100, 100


def _load_rows(home: Path, pages: int) -> tuple[float, dict[str, int]]:
    """Load `pages` page rows with their items, intakes, batches and appliances; (seconds, expected totals)."""
    from juanzong.central import db
    from juanzong.central.config import load_settings

    engine = db.open_engine(load_settings(home).database_url)
    items = -(-pages // PAGES_PER_ITEM)
    start = time.perf_counter()
    try:
        with db.writer(engine).begin() as conn:
            for table, rows in _tables(pages, items):
                _insert(conn, table, rows)
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    short = len(range(0, items, 50))
    expected = {
        "intakes": -(-items // ITEMS_PER_INTAKE),
        "items": items,
        "received_pages": pages - short,
        "declared_pages": items * PAGES_PER_ITEM,
        "missing": short,
        "duplicate_pages": 0,
    }
    return time.perf_counter() - start, expected


def _tables(pages: int, items: int) -> Iterator[tuple[Any, Iterator[dict[str, Any]]]]:
    from juanzong.central import db

    batches = -(-pages // PAGES_PER_BATCH)
    yield (
        db.appliances,
        (
            {
                "appliance_id": f"A{a:07d}",
                "signing_public": "x" * 44,
                "profile": "bench",
                "name": f"扫描点{a}",
                "enrolled_at": "2026-01-05T09:00:00+00:00",
            }
            for a in range(APPLIANCES)
        ),
    )
    yield db.batches, (_batch_row(b) for b in range(batches))
    yield db.intakes, (_intake_row(i) for i in range(-(-items // ITEMS_PER_INTAKE)))
    yield db.items, (_item_row(i) for i in range(items))
    yield db.pages, (row for i in range(items) for row in _page_rows(i))


def _batch_row(b: int) -> dict[str, Any]:
    return {
        "batch_id": f"B{b:09d}",
        "appliance_id": f"A{b % APPLIANCES:07d}",
        "seq": b // APPLIANCES + 1,
        "manifest": b"{}",
        "signature": "s",
        "manifest_sha256": _hex(f"m{b}"),
        "page_count": PAGES_PER_BATCH,
        "new_pages": PAGES_PER_BATCH,
        "gap_before": 0,
        "received_at": "2026-03-02T12:00:00+00:00",
        "receipt": b"{}",
        "receipt_signature": "r",
    }


def _intake_row(i: int) -> dict[str, Any]:
    return {
        "intake_id": f"T{i:09d}",
        "appliance_id": f"A{i % APPLIANCES:07d}",
        "case_number": f"（2026）京0102民初{i}号",
        "submitter": "张三",
        "received_at": f"2026-03-{1 + i % 28:02d}T10:30:00+08:00",
        "deadline": "2026-03-30T18:00:00+08:00",
        "urgent": i % 10 == 0,
        "record": "{}",
        "batch_id": f"B{i:09d}",
        "batch_seq": 1,
    }


def _item_row(i: int) -> dict[str, Any]:
    return {
        "item_id": f"M{i:09d}",
        "intake_id": f"T{i // ITEMS_PER_INTAKE:09d}",
        "appliance_id": f"A{i % APPLIANCES:07d}",
        "seq": i % ITEMS_PER_INTAKE + 1,
        "name": "证据材料",
        "declared_pages": PAGES_PER_ITEM,
        "volume": "main",
        "record": "{}",
        "batch_id": f"B{i:09d}",
        "batch_seq": 1,
    }


def _page_rows(i: int) -> Iterator[dict[str, Any]]:
    for n in range(PAGES_PER_ITEM - (1 if i % 50 == 0 else 0)):  # one item in 50 is short of a page
        k = i * PAGES_PER_ITEM + n
        record = json.dumps(
            {
                "page_id": f"P{k:09d}",
                "item_id": f"M{i:09d}",
                "page_no": n + 1,
                "side": "recto",
                "source_name": f"scan_{k:07d}.jpg",
                "width": 2480,
                "height": 3508,
                "dpi": 300,
            },
            ensure_ascii=False,
        )
        yield {
            "page_id": f"P{k:09d}",
            "appliance_id": f"A{i % APPLIANCES:07d}",
            "item_id": f"M{i:09d}",
            "page_no": n + 1,
            "side": "recto",
            "source_sha256": _hex(f"s{k}"),
            "blob_sha256": _hex(f"b{k}"),
            "blob_size": 1_500_000,
            "blob_kind": "page",
            "sealed_key": "k" * 120,
            "record": record,
            "record_sha256": _hex(record),
            "batch_id": f"B{k // PAGES_PER_BATCH:09d}",
            "batch_seq": 1,
        }


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _insert(conn: Any, table: Any, rows: Iterator[dict[str, Any]]) -> None:
    """COPY on PostgreSQL; the driver's executemany on SQLite (both inside the caller's transaction)."""
    first = next(rows, None)
    if first is None:
        return
    cols, all_rows = list(first), itertools.chain([first], rows)
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in all_rows:
                copy.write_row([row[c] for c in cols])
        return
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    raw.cursor().executemany(sql, (tuple(row[c] for c in cols) for row in all_rows))


# --- processes --------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-P", "-m", "juanzong.shared.cli", *argv], stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
