"""`edge keys renew` → `central enroll --renew` → `edge pair`: new signing and TLS keys over mutual
TLS against a real `central serve`, the batch sequence carrying on, the old key no longer taken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from juanzong.edge.tooling import demo

pytestmark = pytest.mark.e2e


def _ingest_and_sync(home: Path) -> dict:
    demo.scan_pages(home, demo.register_intake(home))
    demo.juanzong("edge", "ingest", "--home", str(home), "--once", "--settle", "0.2")
    return json.loads(demo.juanzong("edge", "sync", "--home", str(home), "--json").stdout)


def test_renewed_keys_keep_the_appliance_and_its_sequence(tmp_path):
    port = demo.free_port()
    homes = demo.setup_homes(tmp_path, port)
    central = demo.start(["central", "serve", "--home", str(homes.central)], tmp_path / "central.log")
    try:
        demo.wait_central(homes.edge)
        first = _ingest_and_sync(homes.edge)
        assert [s["state"] for s in first["synced"]] == ["acknowledged"]
        old_signing = (homes.edge / "keys" / "signing.key").read_bytes()

        request = tmp_path / "renewal.json"
        demo.juanzong("edge", "keys", "renew", "--home", str(homes.edge), "--out", str(request))
        tampered = json.loads(request.read_text("utf-8"))
        tampered["name"] = "冒名扫描点"
        forged = tmp_path / "forged.json"
        forged.write_text(json.dumps(tampered, ensure_ascii=False), "utf-8")
        refused = demo.juanzong("central", "enroll", "--home", str(homes.central), "--renew", str(forged), check=False)
        assert refused.returncode == 1 and "MANIFEST_SIGNATURE_INVALID" in refused.stderr

        enrolment = tmp_path / "renewed-enrolment.json"
        demo.juanzong("central", "enroll", "--home", str(homes.central), "--renew", str(request), "--out", str(enrolment))
        demo.juanzong("edge", "pair", "--home", str(homes.edge), "--enrolment", str(enrolment))
        assert (homes.edge / "keys" / "signing.key").read_bytes() != old_signing
        assert not list((homes.edge / "keys").glob("*.new"))

        second = _ingest_and_sync(homes.edge)
        assert [s["state"] for s in second["synced"]] == ["acknowledged"], second
        report = json.loads(demo.juanzong("central", "report", "--home", str(homes.central), "--json").stdout)
        assert report["totals"]["missing"] == 0
        from juanzong.edge.config import load_settings
        from juanzong.edge.repo import connect

        db = connect(load_settings(homes.edge).db_path)
        assert [r[0] for r in db.execute("SELECT seq FROM batches ORDER BY seq")] == [1, 2]
        db.close()
    finally:
        demo.stop(central)
