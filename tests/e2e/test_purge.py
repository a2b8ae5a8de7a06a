"""Crypto-shredding on record, against a real central process.

Pages are synced and acknowledged; before the retention period nothing goes; after it every
page's local key wrap and file are destroyed, each on the audit trail; no byte of the old wraps
is left anywhere under the appliance home, so a copy of a blob file kept from before (flash
that was never erased) can no longer be opened there; and the next batch tells central.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from juanzong.edge import audit, batches, purge
from juanzong.edge.appliance import Appliance
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.config import load_settings
from juanzong.edge.keys import load_keys
from juanzong.edge.repo import connect
from juanzong.edge.sync.client import sync_due
from juanzong.edge.sync.transport import transport_for
from juanzong.edge.tooling import demo
from juanzong.shared import crypto
from juanzong.shared.errors import AppError

pytestmark = pytest.mark.e2e


@pytest.fixture
def running(tmp_path):
    port = demo.free_port()
    homes = demo.setup_homes(tmp_path, port)
    central = demo.start(["central", "serve", "--home", str(homes.central)], tmp_path / "central.log")
    demo.wait_central(homes.edge)
    yield homes
    demo.stop(central)


def _sync(settings, db, keys) -> None:
    states = [r.state for r in sync_due(db, BlobStore(settings.blob_dir), transport_for(settings), keys, settings.appliance_id, 1.0)]
    assert states == ["acknowledged"], states


def _files_holding(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.name}" for n in needles if n in data]
    return hits


def test_purge_after_ack_and_retention_shreds_on_record_and_tells_central(running, tmp_path):
    settings = load_settings(running.edge)
    demo.scan_pages(running.edge, demo.register_intake(running.edge))
    Appliance(settings).ingest_once()
    db, keys, store = connect(settings.db_path), load_keys(settings.keys_dir), BlobStore(settings.blob_dir)
    assert batches.seal(db, settings.appliance_id, keys)
    _sync(settings, db, keys)
    acked_at = datetime.fromisoformat(db.execute("SELECT acked_at FROM batches").fetchone()[0])
    blobs = db.execute(
        "SELECT b.id, b.kind, b.wrapped_local FROM blobs b JOIN pages p ON p.blob_id = b.id WHERE p.item_id IS NOT NULL"
    ).fetchall()
    roles = {r[0] for r in db.execute("SELECT role FROM pages")}
    assert {"page", "cover"} <= roles  # cover sheets' scans go with their item's batch
    kept = tmp_path / "flash-remnant.jzb"  # what an un-erased flash block could still hold
    shutil.copy(store.path(blobs[0][0]), kept)
    retention = purge.Retention.from_settings(settings)

    early = purge.purge_due(db, store, settings.appliance_id, retention, acked_at + timedelta(days=29))
    assert early.blobs == [] and all(store.exists(b[0]) for b in blobs)

    report = purge.purge_due(db, store, settings.appliance_id, retention, acked_at + timedelta(days=30, seconds=1))
    assert sorted(report.blobs) == sorted(b[0] for b in blobs)
    assert not any(store.exists(b[0]) for b in blobs)
    assert db.execute("SELECT COUNT(*) FROM blobs WHERE wrapped_local IS NOT NULL AND purged_at IS NOT NULL").fetchone()[0] == 0
    purges = [r for r in audit.records(db) if r.action == "purge"]
    assert sorted(r.target for r in purges) == sorted(b[0] for b in blobs) and audit.verify_chain(db) is None

    # no byte of any old wrap is left under the home (database, WAL, keys, anything)
    assert _files_holding(settings.home, [b[2] for b in blobs]) == []
    # the kept ciphertext cannot be opened on the appliance: its only wrap is gone
    wrap = db.execute("SELECT wrapped_local FROM blobs WHERE id = ?", [blobs[0][0]]).fetchone()[0]
    assert wrap is None
    with pytest.raises(AppError):
        crypto.open_blob_local(
            kept.read_bytes(), b"\0" * 40, kek=keys.kek, appliance_id=settings.appliance_id, blob_id=blobs[0][0], kind=blobs[0][1]
        )

    # the next batch carries the purge records to central, which puts them on its own record
    assert batches.due(db, settings.batch_idle_seconds, settings.batch_max_pages)
    second = batches.seal(db, settings.appliance_id, keys)
    _sync(settings, db, keys)
    manifest = json.loads(db.execute("SELECT manifest FROM batches WHERE id = ?", [second]).fetchone()[0])
    assert sorted(p["blob_id"] for p in manifest["purged"]) == sorted(b[0] for b in blobs)
    assert not batches.due(db, settings.batch_idle_seconds, settings.batch_max_pages)  # reported once
    central_db = next(running.central.rglob("*.db"))
    with sqlite3.connect(central_db) as conn:
        reported = conn.execute("SELECT detail FROM audit WHERE action = 'purge_reported'").fetchall()
    assert len(reported) == 1 and sorted(json.loads(reported[0][0])["blobs"]) == sorted(b[0] for b in blobs)
    db.close()
