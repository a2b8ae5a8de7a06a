"""The whole journey with real processes on loopback: `central serve` + `edge run`.

Same path as `juanzong demo` (it reuses the demo's driver): central and the
appliance are separate processes talking HTTP; the simulated scanner writes
real JPEG pages, cover sheets and an express waybill into the hot folder.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from stacks import Stack

from juanzong.edge.tooling import demo

pytestmark = pytest.mark.e2e


@pytest.fixture
def homes(tmp_path: Path, stack: Stack):
    """On each stack (tests/conftest.py): central on SQLite + local disk, and on PostgreSQL + S3."""
    port = demo.free_port()
    homes = demo.setup_homes(tmp_path, port, stack.init_args())
    procs: dict[str, object] = {}

    def start_central():
        procs["central"] = demo.start(["central", "serve", "--home", str(homes.central)], tmp_path / "central.log")
        demo.wait_central(homes.edge)

    def start_edge():
        procs["edge"] = demo.start(["edge", "run", "--home", str(homes.edge)], tmp_path / "edge.log")

    homes_ctl = type(
        "Ctl",
        (),
        {
            "homes": homes,
            "port": port,
            "start_central": staticmethod(start_central),
            "start_edge": staticmethod(start_edge),
            "procs": procs,
        },
    )
    yield homes_ctl
    for proc in procs.values():
        demo.stop(proc)


def central_json(home: Path, *args: str) -> dict:
    return json.loads(demo.juanzong("central", *args, "--home", str(home), "--json", check=False).stdout)


def stored_page_ids(edge_home: Path) -> list[str]:
    from juanzong.edge.config import load_settings
    from juanzong.edge.repo import connect

    db = connect(load_settings(edge_home).db_path)
    return [r[0] for r in db.execute("SELECT id FROM pages WHERE role = 'page'")]


def test_every_page_arrives_and_decrypts_at_central_to_the_scanned_bytes(homes, tmp_path):
    h = homes.homes
    homes.start_central()
    intake = demo.register_intake(h.edge)
    homes.start_edge()
    written = demo.scan_pages(h.edge, intake)
    scanned = len(written)
    demo.wait_synced(h.edge, scanned)

    report = central_json(h.central, "report")
    assert report["totals"]["received_pages"] == scanned and report["totals"]["missing"] == 0
    # the waybill page (a Code128 and a QR that are not ours) did not split 证据材料
    per_item = {i["name"]: (i["declared_pages"], i["received_pages"]) for i in report["intakes"][0]["items"]}
    assert per_item == {"起诉状": (3, 3), "证据材料": (4, 4), "授权委托书": (1, 1)}

    verify = central_json(h.central, "verify")
    assert verify["pages"] == scanned and verify["decrypted_ok"] == scanned
    # byte-identical: export every page from central and compare with the scanner's file
    exported = set()
    for page_id in stored_page_ids(h.edge):
        out = tmp_path / f"{page_id}.jpg"
        demo.juanzong("central", "export-page", "--home", str(h.central), page_id, "--out", str(out))
        exported.add(hashlib.sha256(out.read_bytes()).hexdigest())
    assert exported == set(written.values())


def test_central_down_mid_sync_then_back_leaves_no_duplicate(homes):
    h = homes.homes
    homes.start_central()
    intake = demo.register_intake(h.edge)
    homes.start_edge()
    demo.scan_pages(h.edge, {**intake, "items": intake["items"][:1]})
    demo.wait_synced(h.edge, intake["items"][0]["declared_pages"])

    demo.stop(homes.procs.pop("central"))  # central goes away; the appliance keeps scanning
    demo.scan_pages(h.edge, {**intake, "items": intake["items"][1:]})
    scanned = sum(i["declared_pages"] for i in intake["items"])
    _wait_for(lambda: _status(h.edge)["batches"][-1]["last_error"] or "", "SYNC_NETWORK_DOWN", 30)

    homes.start_central()
    demo.wait_synced(h.edge, scanned)
    report = central_json(h.central, "report")
    assert report["totals"]["received_pages"] == scanned
    assert report["totals"]["missing"] == 0 and report["totals"]["extra"] == 0
    assert report["totals"]["duplicate_pages"] == 0
    assert [a["seq_gaps"] for a in report["appliances"]] == [[]]


def _status(edge_home: Path) -> dict:
    return json.loads(demo.juanzong("edge", "status", "--home", str(edge_home), "--json").stdout)


def _wait_for(fn, expected_fragment: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if expected_fragment in fn():
            return
        time.sleep(0.3)
    raise AssertionError(f"never saw {expected_fragment!r}")
