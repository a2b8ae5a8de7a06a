"""`edge keys rotate`: every wrap (both suites) and vault value rewritten, the old KEK destroyed,
audited; a rotation cut short at either side of its commit leaves a home that opens."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from edge_kit import register

from juanzong.edge import audit, rotate
from juanzong.edge.appliance import Appliance
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import KEK_FILE, NEW_KEK_FILE, load_keys
from juanzong.edge.tooling.pages import text_page
from juanzong.edge.tooling.scanner import SimulatedScanner
from juanzong.edge.vault import Purpose, Vault
from juanzong.shared import crypto
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.suites import Suite


def _fill(settings, db) -> None:
    """Pages in both suites, a quarantined file and a kept receipt copy."""
    from dataclasses import replace

    register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write(text_page(1))
    Appliance(settings).ingest_once(settle=0.05)
    scanner.write(text_page(2))
    (settings.hot_folder / "scan_0099.jpg").write_bytes(b"\xff\xd8 broken")
    Appliance(replace(settings, crypto_suite=Suite.SM)).ingest_once(settle=0.05)
    db.execute(
        "INSERT INTO print_jobs(id, intake_id, printer, state, created_at, copy) VALUES ('J1', 'I', 'p', 'printed', 'x', ?)",
        [Vault(load_keys(settings.keys_dir).kek).seal(Purpose.RECEIPT_COPY, "J1", "回执副本".encode())],
    )


def _wraps(db) -> list[tuple]:
    return db.execute("SELECT id, kind, wrapped_local, suite FROM blobs WHERE wrapped_local IS NOT NULL").fetchall()


def _opens(settings, db, kek: bytes) -> bool:
    store = BlobStore(settings.blob_dir)
    try:
        for blob_id, kind, wrapped, _ in _wraps(db):
            crypto.open_blob_local(store.get(blob_id), wrapped, kek=kek, appliance_id=settings.appliance_id, blob_id=blob_id, kind=kind)
    except AppError:
        return False
    return True


def test_rotation_rewrites_every_wrap_and_vault_value_and_destroys_the_old_key(settings, db):
    _fill(settings, db)
    old = load_keys(settings.keys_dir).kek
    before = _wraps(db)
    assert {w[3] for w in before} == {str(Suite.AES), str(Suite.SM)} and len(before) >= 3

    result = subprocess.run(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", "edge", "keys", "rotate", "--home", str(settings.home)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr

    new = load_keys(settings.keys_dir).kek
    assert new != old and not (settings.keys_dir / NEW_KEK_FILE).exists()
    after = _wraps(db)
    assert len(after) == len(before) and all(a[2] != b[2] for a, b in zip(after, before))
    assert _opens(settings, db, new) and not _opens(settings, db, old)
    copy = db.execute("SELECT copy FROM print_jobs WHERE id = 'J1'").fetchone()[0]
    assert Vault(new).open(Purpose.RECEIPT_COPY, "J1", copy).decode() == "回执副本"
    with pytest.raises(AppError):
        Vault(old).open(Purpose.RECEIPT_COPY, "J1", copy)
    # the old key is nowhere under the home any more
    assert not [p for p in settings.home.rglob("*") if p.is_file() and old in p.read_bytes()]
    row = [r for r in audit.records(db) if r.action == "key_rotate"][-1]
    assert row.detail["old_key"] == rotate.key_id(old) and row.detail["new_key"] == rotate.key_id(new)
    assert row.detail["wraps"] == len(before) and row.detail["vault_values"] == 1


def test_a_rotation_cut_after_its_commit_is_finished_and_one_cut_before_is_undone(settings, db, monkeypatch):
    _fill(settings, db)
    old = load_keys(settings.keys_dir).kek
    store = BlobStore(settings.blob_dir)
    real_replace = os.replace

    def power_cut(src, dst):
        if str(src).endswith(NEW_KEK_FILE):
            raise OSError("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", power_cut)  # the rename commit_file makes
    with pytest.raises(OSError):
        rotate.rotate_kek(db, store, settings.keys_dir, settings.appliance_id, "admin")
    monkeypatch.setattr(os, "replace", real_replace)
    with pytest.raises(AppError) as err:
        load_keys(settings.keys_dir)  # nothing starts on a half-rotated home
    assert err.value.code == ErrorCode.KEY_ROTATION_PENDING
    pending = (settings.keys_dir / NEW_KEK_FILE).read_bytes()
    assert rotate.settle(db, settings.keys_dir) == "completed"
    assert load_keys(settings.keys_dir).kek == pending and _opens(settings, db, pending)

    # cut before the commit: a stray new key and no audit row naming it
    (settings.keys_dir / NEW_KEK_FILE).write_bytes(crypto.new_kek())
    assert rotate.settle(db, settings.keys_dir) == "undone"
    assert (settings.keys_dir / KEK_FILE).read_bytes() == pending and _opens(settings, db, pending)
    assert not _opens(settings, db, old)
