"""A mixed batch end to end: pages sealed with the aes suite, then with the 商用密码 suite, travel in
one signed batch over mutual TLS to a real `central serve`, and central opens every one of them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from juanzong.edge import demo
from juanzong.shared.suites import Suite


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
        synced = json.loads(demo.juanzong("edge", "sync", "--home", str(homes.edge)).stdout)
        assert synced["sealed"] and [s["state"] for s in synced["synced"]] == ["acknowledged"], synced

        from juanzong.edge.config import load_settings
        from juanzong.edge.db import open_db

        db = open_db(load_settings(homes.edge).db_path)
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
