"""A mixed batch end to end: pages sealed with the aes suite, then with the 商用密码 suite, travel in
one signed batch over mutual TLS to a real `central serve`, and central opens every one of them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from juanzong.edge.tooling import demo
from juanzong.shared.suites import Suite

pytestmark = pytest.mark.e2e


def _set(home: Path, key: str, value: str) -> None:
    config = home / "config.toml"
    lines = [f'{key} = "{value}"' if line.startswith(f"{key} =") else line for line in config.read_text("utf-8").splitlines()]
    config.write_text("\n".join(lines) + "\n", "utf-8")


def _ingest(home: Path) -> dict[str, str]:
    written = demo.scan_pages(home, demo.register_intake(home))
    demo.juanzong("edge", "ingest", "--home", str(home), "--once", "--settle", "0.2")
    return written


def test_a_batch_holding_both_suites_reaches_central_and_every_page_opens(tmp_path):
    port = demo.free_port()
    homes = demo.setup_homes(tmp_path, port)
    central = demo.start(["central", "serve", "--home", str(homes.central)], tmp_path / "central.log")
    try:
        demo.wait_central(homes.edge)
        written = _ingest(homes.edge)
        _set(homes.edge, "crypto_suite", "sm")
        written |= _ingest(homes.edge)
        synced = json.loads(demo.juanzong("edge", "sync", "--home", str(homes.edge), "--json").stdout)
        assert synced["sealed"] and [s["state"] for s in synced["synced"]] == ["acknowledged"], synced

        from juanzong.edge.config import load_settings
        from juanzong.edge.repo import connect

        db = connect(load_settings(homes.edge).db_path)
        manifest = json.loads(db.execute("SELECT manifest FROM batches").fetchone()[0])
        page_ids = [r[0] for r in db.execute("SELECT id FROM pages WHERE role = 'page'")]
        db.close()
        by_suite = {s: [p for p in manifest["pages"] if p["blob"]["suite"] == s] for s in Suite}
        assert by_suite[Suite.AES] and by_suite[Suite.SM], "one batch, both suites"
        assert all(p["blob"]["sm3"] is None for p in by_suite[Suite.AES])
        assert all(len(p["blob"]["sm3"]) == 64 for p in by_suite[Suite.SM])

        verify = json.loads(demo.juanzong("central", "verify", "--home", str(homes.central), "--json", check=False).stdout)
        assert verify["decrypted_ok"] == verify["pages"] == len(manifest["pages"]), verify
        exported = set()
        for page_id in page_ids:
            out = tmp_path / f"{page_id}.jpg"
            demo.juanzong("central", "export-page", "--home", str(homes.central), page_id, "--out", str(out))
            exported.add(hashlib.sha256(out.read_bytes()).hexdigest())
        assert exported == set(written.values())
    finally:
        demo.stop(central)


def test_central_rotates_its_hpke_key_and_still_opens_what_was_sealed_to_the_old_one(tmp_path):
    port = demo.free_port()
    homes = demo.setup_homes(tmp_path, port)
    central = demo.start(["central", "serve", "--home", str(homes.central)], tmp_path / "central.log")
    try:
        demo.wait_central(homes.edge)
        old_identity = json.loads((homes.central / "central-identity.json").read_text("utf-8"))
        written = _ingest(homes.edge)
        demo.juanzong("edge", "sync", "--home", str(homes.edge))
        rotated = json.loads(demo.juanzong("central", "keys", "rotate-hpke", "--home", str(homes.central), "--json").stdout)
        new_identity = json.loads((homes.central / "central-identity.json").read_text("utf-8"))
        assert new_identity["hpke_public"] != old_identity["hpke_public"]
        assert (homes.central / "keys" / f"hpke-retired-{rotated['old_key']}.key").exists()
        demo.juanzong("edge", "pair", "--home", str(homes.edge), "--central", str(homes.central / "central-identity.json"))
        written |= _ingest(homes.edge)
        demo.juanzong("edge", "sync", "--home", str(homes.edge))

        from juanzong.edge.config import load_settings
        from juanzong.edge.keys import load_central

        assert crypto_b64(load_central(load_settings(homes.edge).keys_dir).hpke_public) == new_identity["hpke_public"]
        verify = json.loads(demo.juanzong("central", "verify", "--home", str(homes.central), "--json", check=False).stdout)
        assert verify["pages"] > 0 and verify["decrypted_ok"] == verify["pages"], verify
        from juanzong.edge.repo import connect

        db = connect(load_settings(homes.edge).db_path)
        page_ids = [r[0] for r in db.execute("SELECT id FROM pages WHERE role = 'page'")]
        db.close()
        exported = set()
        for page_id in page_ids:
            out = tmp_path / f"{page_id}.jpg"
            demo.juanzong("central", "export-page", "--home", str(homes.central), page_id, "--out", str(out))
            exported.add(hashlib.sha256(out.read_bytes()).hexdigest())
        assert exported == set(written.values())
    finally:
        demo.stop(central)


def crypto_b64(public) -> str:
    from juanzong.shared import crypto

    return crypto.b64(crypto.public_bytes(public))
