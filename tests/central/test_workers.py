"""Several appliances against several central workers at once, on each stack, then `central verify`.

`central serve --workers 3` (real processes on one loopback socket). Four
appliances send at the same time, each its batches in order, and every
manifest is posted twice at once (a retry racing the original). Afterwards the
store must hold every page once, every batch once with one receipt, no
sequence gap, and an audit chain whose every link holds — the chain's head is
read and extended under a lock, so two workers never append after the same row.
A fifth, misbehaving appliance fires all its batches at once: whatever the
workers do, the batches it gets stored were committed in rising order.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from central_kit import Scanner, make_scanner, run_cli
from stacks import Stack

from juanzong.central.appliances import enroll, read_identity
from juanzong.central.config import load_settings
from juanzong.central.home import init_home, open_central
from juanzong.edge.tooling import demo

APPLIANCES, BATCHES, PAGES = 4, 6, 3
WORKERS = 3

pytestmark = pytest.mark.slow


def _post(url: str, wire: dict[str, str]) -> requests.Response:
    return requests.post(f"{url}/api/manifests", json=wire, timeout=60, headers={"Connection": "close"})


def _signed_batch(url: str, scanner: Scanner, seq: int) -> dict[str, str]:
    """Upload a batch's blobs; its signed manifest, ready to post."""
    intake = scanner.intake()
    item = scanner.item(intake, PAGES)
    pages = [scanner.page(item, n) for n in range(1, PAGES + 1)]
    for p in pages:  # a new connection each time: the kernel spreads them over the workers
        resp = requests.put(
            f"{url}/api/blobs/{p.sealed.sha256}",
            data=p.sealed.data,
            headers={"X-Appliance-Id": scanner.appliance_id, "Connection": "close"},
            timeout=60,
        )
        assert resp.status_code in (200, 201), resp.text
    return scanner.sign(scanner.manifest(seq, [intake], [item], pages)).to_wire()


def _send_batch(url: str, scanner: Scanner, seq: int) -> list[int]:
    wire = _signed_batch(url, scanner, seq)
    with ThreadPoolExecutor(2) as pool:  # the original and its retry, at the same moment
        replies = list(pool.map(lambda _: _post(url, wire), range(2)))
    assert all(r.status_code in (200, 201) for r in replies), [r.text for r in replies]
    assert replies[0].json() == replies[1].json()  # one receipt, whoever came second
    return sorted(r.status_code for r in replies)


def _worker(url: str) -> int:
    return int(requests.get(f"{url}/api/health", headers={"Connection": "close"}, timeout=60).headers["X-Worker"])


def _burst(url: str, scanner: Scanner) -> dict[int, str]:
    """All of an appliance's batches posted at once, out of order: {seq: error code or "stored"}."""
    wires = {seq: _signed_batch(url, scanner, seq) for seq in range(1, BATCHES + 1)}
    order = sorted(wires, reverse=True)
    with ThreadPoolExecutor(BATCHES) as pool:
        replies = list(pool.map(lambda seq: _post(url, wires[seq]), order))
    return {seq: "stored" if r.status_code == 201 else r.json()["error"] for seq, r in zip(order, replies)}


def test_concurrent_appliances_against_several_workers_verify_clean(
    tmp_path: Path, stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    port = demo.free_port()
    home = tmp_path / "central"
    init_home(home, "127.0.0.1", port, tls=False, extra=stack.settings)
    identity = json.loads((home / "central-identity.json").read_text("utf-8"))
    scanners = [make_scanner(tmp_path, identity, name=f"扫描点{n}") for n in range(APPLIANCES + 1)]
    for n, s in enumerate(scanners):
        s._seed = 1000 * n  # each scans its own paper
    rogue = scanners.pop()
    central = open_central(load_settings(home))
    for s in [*scanners, rogue]:
        enroll(central.repo, read_identity(s.identity_path))
    central.close()

    log = tmp_path / "serve.log"
    server = demo.start(["central", "serve", "--home", str(home), "--workers", str(WORKERS)], log)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_health(url, server)
        jobs = [(s, range(1, BATCHES + 1)) for s in scanners]
        statuses: list[list[int]] = []
        workers: set[int] = set()
        lock = threading.Lock()

        def run(job: tuple[Scanner, range]) -> None:
            for seq in job[1]:
                codes = _send_batch(url, job[0], seq)
                with lock:
                    statuses.append(codes)
                    workers.add(_worker(url))

        with ThreadPoolExecutor(len(jobs) + 1) as pool:
            burst = pool.submit(_burst, url, rogue)
            list(pool.map(run, jobs))
            outcomes = burst.result()
    finally:
        demo.stop(server)
    assert server.returncode == 0
    assert statuses == [[200, 201]] * (APPLIANCES * BATCHES)  # each batch stored once, answered twice
    assert len(workers) >= 2, "the load was not spread over several workers"

    stored_by_rogue = sorted(seq for seq, outcome in outcomes.items() if outcome == "stored")
    assert set(outcomes.values()) <= {"stored", "MANIFEST_SEQ_BACKWARDS"} and stored_by_rogue, outcomes
    pages = (APPLIANCES * BATCHES + len(stored_by_rogue)) * PAGES

    rc, out = run_cli(["verify", "--home", str(home), "--json"], capsys)
    result = json.loads(out)
    assert (rc, result["ok"], result["pages"], result["decrypted_ok"]) == (0, True, pages, pages)
    rc, out = run_cli(["report", "--home", str(home), "--json"], capsys)
    report = json.loads(out)
    assert report["totals"]["received_pages"] == pages and report["totals"]["duplicate_pages"] == 0
    by_appliance = {a["appliance_id"]: (a["batches"], a["seq_gaps"]) for a in report["appliances"]}
    assert [by_appliance[s.appliance_id] for s in scanners] == [(BATCHES, [])] * APPLIANCES
    assert _audit_sync_seqs(home, rogue.appliance_id) == stored_by_rogue  # committed in rising order, each once


def _audit_sync_seqs(home: Path, rogue_id: str) -> list[int]:
    """Checks the chain's numbering and one row per stored batch; returns the rogue's seqs in commit order."""
    from juanzong.central import audit

    central = open_central(load_settings(home))
    try:
        rows = [rec for rec, _ in audit.records(central.repo.engine)]
    finally:
        central.close()
    assert [rec.seq for rec in rows] == list(range(1, len(rows) + 1))
    stored = [rec for rec in rows if rec.action == "sync" and rec.outcome == "ok"]
    assert len({rec.target for rec in stored}) == len(stored)  # one row per batch, however often it was posted
    return [rec.detail["seq"] for rec in stored if rec.actor == rogue_id]


def _wait_health(url: str, server: object) -> None:
    import time

    end = time.monotonic() + 60
    while time.monotonic() < end:
        assert server.poll() is None, "central serve exited"  # type: ignore[attr-defined]
        try:
            if requests.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError("central serve did not answer")
