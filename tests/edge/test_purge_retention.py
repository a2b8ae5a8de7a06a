"""Quarantined files and kept receipt copies follow their own retention; `edge purge` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from edge_kit import register

from juanzong.edge import audit, purge
from juanzong.edge.appliance import Appliance
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import load_keys
from juanzong.edge.quarantine import retry
from juanzong.shared.errors import AppError, ErrorCode


def test_a_quarantined_file_is_shredded_after_its_retention_and_can_no_longer_be_retried(settings, db):
    register(db, settings)
    (settings.hot_folder / "scan_0001.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    Appliance(settings).ingest_once(settle=0.05)
    qid, created = db.execute("SELECT id, created_at FROM quarantine").fetchone()
    store, retention = BlobStore(settings.blob_dir), purge.Retention.from_settings(settings)
    created_at = datetime.fromisoformat(created)

    assert purge.purge_due(db, store, settings.appliance_id, retention, created_at + timedelta(days=29)).quarantine == []
    report = purge.purge_due(db, store, settings.appliance_id, retention, created_at + timedelta(days=30, seconds=1))
    assert report.quarantine == [qid] and not store.exists(qid)
    with pytest.raises(AppError) as err:
        retry(db, store, load_keys(settings.keys_dir), settings.appliance_id, settings.hot_folder, qid)
    assert err.value.code == ErrorCode.QUARANTINE_NOT_FOUND
    assert [r.target for r in audit.records(db) if r.action == "purge"] == [qid]


def test_receipt_copies_go_after_their_retention_and_the_command_reports_it(edge_home):
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-P", "-m", "juanzong.shared.cli", *args], capture_output=True, text=True, timeout=120)

    added = cli(
        "edge",
        "intake",
        "add",
        "--home",
        str(edge_home),
        "--case",
        "（2026）京0102民初1234号",
        "--submitter",
        "张三",
        "--item",
        "起诉状:2",
        "--received",
        "2026-03-02T10:00",
    )
    assert added.returncode == 0, added.stderr
    from juanzong.edge.config import load_settings
    from juanzong.edge.repo import connect

    db = connect(load_settings(edge_home).db_path)
    printed = db.execute("SELECT COUNT(*) FROM print_jobs WHERE copy IS NOT NULL AND state = 'printed'").fetchone()[0]
    assert printed >= 1
    soon = (datetime.now(UTC) + timedelta(days=89)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=91)).isoformat()
    assert json.loads(cli("edge", "purge", "--home", str(edge_home), "--now", soon, "--json").stdout)["receipt_copies_destroyed"] == 0
    out = cli("edge", "purge", "--home", str(edge_home), "--now", later, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["receipt_copies_destroyed"] == printed
    assert db.execute("SELECT COUNT(*) FROM print_jobs WHERE copy IS NOT NULL").fetchone()[0] == 0
    db.close()
