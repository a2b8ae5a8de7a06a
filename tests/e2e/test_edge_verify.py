"""`juanzong edge verify --home DIR` after a real sync: the chain, the heads central witnessed, every blob.

Two batches are acknowledged by a real `central serve` over mutual TLS; each
test then tampers with a copy of the appliance home the way someone with the
disk would (the audit table's triggers dropped first) and runs the command.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from juanzong.edge import batches
from juanzong.edge.appliance import Appliance
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.config import load_settings
from juanzong.edge.keys import load_keys
from juanzong.edge.repo import connect
from juanzong.edge.sync.client import sync_due
from juanzong.edge.sync.transport import transport_for
from juanzong.edge.tooling import demo
from juanzong.shared.audit import GENESIS, AuditRecord

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    root = tmp_path_factory.mktemp("edgeverify")
    port = demo.free_port()
    homes = demo.setup_homes(root, port)
    central = demo.start(["central", "serve", "--home", str(homes.central)], root / "central.log")
    try:
        demo.wait_central(homes.edge)
        settings = load_settings(homes.edge)
        for _ in range(2):
            intake = demo.register_intake(homes.edge)
            demo.scan_pages(homes.edge, intake)
            Appliance(settings).ingest_once()
            db = connect(settings.db_path)
            keys = load_keys(settings.keys_dir)
            assert batches.seal(db, settings.appliance_id, keys)
            results = sync_due(db, BlobStore(settings.blob_dir), transport_for(settings), keys, settings.appliance_id, 1.0)
            assert [r.state for r in results] == ["acknowledged"]
            db.conn.close()
    finally:
        demo.stop(central)
    yield homes.edge


def copy_of(edge: Path, tmp_path: Path) -> Path:
    target = tmp_path / "edge"
    shutil.copytree(edge, target, symlinks=True)
    return target


def verify(home: Path) -> tuple[int, dict]:
    result = demo.juanzong("edge", "verify", "--home", str(home), "--json", check=False)
    return result.returncode, json.loads(result.stdout)


def raw_db(home: Path) -> sqlite3.Connection:
    from juanzong.edge.repo import cipher as dbcipher  # the database is encrypted at rest: opened with its key

    conn = dbcipher.connect(load_settings(home).db_path)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    return conn


def witnessed_seq(home: Path) -> int:
    conn = raw_db(home)
    body = conn.execute("SELECT manifest FROM batches WHERE state = 'acknowledged' ORDER BY seq DESC LIMIT 1").fetchone()[0]
    conn.close()
    return json.loads(body)["audit_head"]["seq"]


def test_an_untouched_appliance_verifies(synced, tmp_path):
    home = copy_of(synced, tmp_path)
    rc, out = verify(home)
    assert rc == 0 and out["ok"] and out["receipts"] == 2 and out["blobs"] == out["blobs_ok"] > 0
    text = demo.juanzong("edge", "verify", "--home", str(home), check=False).stdout
    assert "设备完整性检查通过" in text


def test_an_edited_row_is_named_exactly(synced, tmp_path):
    home = copy_of(synced, tmp_path)
    conn = raw_db(home)
    conn.execute("UPDATE audit SET actor = 'someone else' WHERE seq = 3")
    conn.close()
    rc, out = verify(home)
    assert rc == 1 and {"kind": "audit", "ident": "3", "outcome": "edited"} in out["findings"]


def test_truncation_below_a_witnessed_head_is_caught(synced, tmp_path):
    home = copy_of(synced, tmp_path)
    cut_from = witnessed_seq(home) - 1
    conn = raw_db(home)
    conn.execute("DELETE FROM audit WHERE seq >= ?", [cut_from])
    conn.close()
    rc, out = verify(home)
    assert rc == 1
    assert any(f["kind"] == "audit" and f["ident"] == str(cut_from) and f["outcome"].startswith("truncated") for f in out["findings"])


def test_a_rechained_log_is_caught_by_the_receipts(synced, tmp_path):
    home = copy_of(synced, tmp_path)
    conn = raw_db(home)
    rows = conn.execute("SELECT seq, at, actor, action, target, outcome, detail, place FROM audit ORDER BY seq").fetchall()
    prev = GENESIS
    for seq, at, actor, action, target, outcome, detail, place in rows:
        rec = AuditRecord(seq, at, "someone else" if seq == 2 else actor, action, target, outcome, json.loads(detail), place, prev)
        conn.execute("UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?", [rec.actor, prev, rec.digest(), seq])
        prev = rec.digest()
    conn.close()
    rc, out = verify(home)
    assert rc == 1
    audit_findings = [f for f in out["findings"] if f["kind"] == "audit"]
    assert audit_findings and all(f["outcome"].startswith("rechained") for f in audit_findings)


def test_a_changed_blob_is_found(synced, tmp_path):
    home = copy_of(synced, tmp_path)
    settings = load_settings(home)
    conn = raw_db(home)
    blob_id = conn.execute("SELECT id FROM blobs ORDER BY id LIMIT 1").fetchone()[0]
    conn.close()
    path = BlobStore(settings.blob_dir).path(blob_id)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    rc, out = verify(home)
    assert rc == 1 and {"kind": "blob", "ident": blob_id, "outcome": "hash_mismatch"} in out["findings"]


def test_a_manifest_changed_after_its_receipt_is_found(synced, tmp_path):
    home = copy_of(synced, tmp_path)
    conn = raw_db(home)
    batch_id, body = conn.execute("SELECT id, manifest FROM batches ORDER BY seq LIMIT 1").fetchone()
    conn.execute("UPDATE batches SET manifest = ? WHERE id = ?", [body.replace("张", "李", 1), batch_id])
    conn.close()
    rc, out = verify(home)
    assert rc == 1 and any(f["kind"] == "receipt" and f["ident"] == batch_id for f in out["findings"])
