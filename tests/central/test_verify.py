"""`central verify` and `central export-page`: every stored page still opens to the scanned bytes."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from central_kit import Page, Scanner, run_cli, submit, upload
from litestar.testing import TestClient
from store_kit import delete_blob, overwrite_blob, raw_blob

from juanzong.central.config import CentralSettings


def stored_batch(client: TestClient, scanner: Scanner, n: int = 3) -> list[Page]:
    intake = scanner.intake()
    item = scanner.item(intake, n)
    pages = [scanner.page(item, i) for i in range(1, n + 1)]
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(scanner.manifest(1, [intake], [item], pages))).status_code == 201
    return pages


def verify(home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    rc, out = run_cli(["verify", "--home", str(home), "--json"], capsys)
    return rc, json.loads(out)


def test_every_page_decrypts_to_the_scanned_bytes(
    client: TestClient, scanner: Scanner, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = stored_batch(client, scanner)
    rc, result = verify(home, capsys)
    assert rc == 0
    assert {k: result[k] for k in ("pages", "decrypted_ok", "hash_mismatch", "decrypt_failed", "missing_blobs")} == {
        "pages": 3,
        "decrypted_ok": 3,
        "hash_mismatch": 0,
        "decrypt_failed": 0,
        "missing_blobs": 0,
    }
    out = tmp_path / "page.jpg"
    assert run_cli(["export-page", "--home", str(home), pages[1].record["page_id"], "--out", str(out)], capsys)[0] == 0
    assert out.read_bytes() == pages[1].plain
    assert out.read_bytes()[:2] == b"\xff\xd8"  # a JPEG, as scanned
    _, text = run_cli(["verify", "--home", str(home)], capsys)
    assert "解密校验通过 3" in text and "完整性检查通过" in text


def test_a_corrupted_blob_file_is_detected(
    client: TestClient, scanner: Scanner, settings: CentralSettings, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = stored_batch(client, scanner)
    raw = bytearray(raw_blob(settings, pages[0].sealed.sha256))
    raw[len(raw) // 2] ^= 0x40  # one flipped bit in storage
    overwrite_blob(settings, pages[0].sealed.sha256, bytes(raw))
    rc, result = verify(home, capsys)
    assert rc == 1
    assert (result["pages"], result["decrypted_ok"], result["hash_mismatch"], result["blobs_corrupt"]) == (3, 2, 1, 1)
    assert {"kind": "page", "ident": pages[0].record["page_id"], "outcome": "hash_mismatch"} in result["failures"]
    _, text = run_cli(["verify", "--home", str(home)], capsys)
    assert "完整性检查未通过" in text


def test_a_deleted_blob_file_is_counted_missing(
    client: TestClient, scanner: Scanner, settings: CentralSettings, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = stored_batch(client, scanner)
    delete_blob(settings, pages[2].sealed.sha256)
    rc, result = verify(home, capsys)
    assert rc == 1 and result["missing_blobs"] == 1 and result["decrypted_ok"] == 2


def test_a_blob_attached_to_the_wrong_page_fails_to_open(
    client: TestClient, scanner: Scanner, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An appliance bug that points page B at page A's ciphertext: the AAD binds the blob to A, so B never shows A's image."""
    intake = scanner.intake()
    item = scanner.item(intake, 2)
    a, b = scanner.page(item, 1), scanner.page(item, 2)
    b.record["blob"] = dict(a.record["blob"])
    upload(client, scanner, [a])
    assert submit(client, scanner.sign(scanner.manifest(1, [intake], [item], [a, b]))).status_code == 201
    rc, result = verify(home, capsys)
    assert rc == 1 and (result["decrypted_ok"], result["decrypt_failed"]) == (1, 1)


def test_orphan_blobs_are_listed_and_removed_only_after_the_grace_period(
    client: TestClient, scanner: Scanner, settings: CentralSettings, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime, timedelta

    from central_kit import upload as put

    from juanzong.central import audit
    from juanzong.central.home import open_central
    from juanzong.central.orphans import remove_orphans

    pages = stored_batch(client, scanner)
    item = scanner.item(scanner.intake(), 1)
    strays = [scanner.page(item, 1), scanner.page(item, 2)]  # uploaded, their manifest never came
    put(client, scanner, strays)
    names = sorted(p.sealed.sha256 for p in strays)
    rc, result = verify(home, capsys)
    assert rc == 0 and sorted(result["orphans"]) == names
    rc, out = run_cli(["orphans", "--remove", "--home", str(home), "--json"], capsys)  # within the 24 h grace
    assert json.loads(out)["removed"] == [] and len(json.loads(out)["kept_in_grace"]) == 2
    central = open_central(settings)
    try:
        removed, kept = remove_orphans(central, timedelta(hours=24), now=datetime.now(UTC) + timedelta(hours=48))
        assert sorted(o.sha256 for o in removed) == names and kept == []
        assert all(central.store.size(n) is None for n in names)
        assert central.store.size(pages[0].sealed.sha256) is not None  # referenced blobs untouched
        rows = [r for r, _ in audit.records(central.repo.engine) if r.action == "orphan_remove"]
        assert sorted(r.target for r in rows) == names
    finally:
        central.close()
    rc, result = verify(home, capsys)
    assert rc == 0 and result["orphans"] == [] and result["decrypted_ok"] == 3
