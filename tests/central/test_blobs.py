"""PUT/HEAD /api/blobs/{sha256}: content-addressed, idempotent, durable uploads of ciphertext."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from central_kit import Scanner
from litestar.testing import TestClient
from store_kit import raw_blob, stored_names

from juanzong.central.app import create_app
from juanzong.central.config import CentralSettings


def test_put_is_idempotent_and_lands_content_addressed(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    page = scanner.page(None, None)
    url = f"/api/blobs/{page.sealed.sha256}"
    headers = {"X-Appliance-Id": scanner.appliance_id}
    assert client.head(url).status_code == 404
    first = client.put(url, content=page.sealed.data, headers=headers)
    assert (first.status_code, first.json()) == (201, {"stored": True})
    again = client.put(url, content=page.sealed.data, headers=headers)
    assert (again.status_code, again.json()) == (200, {"stored": False})
    assert client.head(url).status_code == 200
    assert raw_blob(settings, page.sealed.sha256) == page.sealed.data
    assert stored_names(settings) == [page.sealed.sha256]  # no temp file or second object left behind


def test_body_is_stored_raw_whatever_the_content_type(client: TestClient, scanner: Scanner) -> None:
    page = scanner.page(None, None)
    headers = {"X-Appliance-Id": scanner.appliance_id, "Content-Type": "application/x-www-form-urlencoded"}
    assert client.put(f"/api/blobs/{page.sealed.sha256}", content=page.sealed.data, headers=headers).status_code == 201


def test_hash_mismatch_is_refused_and_nothing_stored(client: TestClient, scanner: Scanner) -> None:
    page = scanner.page(None, None)
    damaged = page.sealed.data[:-1] + bytes([page.sealed.data[-1] ^ 1])
    resp = client.put(f"/api/blobs/{page.sealed.sha256}", content=damaged, headers={"X-Appliance-Id": scanner.appliance_id})
    assert resp.status_code == 422
    assert resp.json()["error"] == "BLOB_HASH_MISMATCH"
    assert "不符" in resp.json()["message"]
    assert client.head(f"/api/blobs/{page.sealed.sha256}").status_code == 404


def test_unknown_or_missing_appliance_is_forbidden(client: TestClient, scanner: Scanner) -> None:
    page = scanner.page(None, None)
    url = f"/api/blobs/{page.sealed.sha256}"
    for headers in ({"X-Appliance-Id": "A0000000000"}, {}):
        resp = client.put(url, content=page.sealed.data, headers=headers)
        assert resp.status_code == 403 and resp.json()["error"] == "APPLIANCE_UNKNOWN"
    assert client.head(url).status_code == 404


def test_blob_over_the_size_cap_is_413(settings: CentralSettings, scanner: Scanner) -> None:
    small = dataclasses.replace(settings, max_blob_bytes=1024)
    data = b"x" * 4096
    with TestClient(create_app(small)) as client:
        resp = client.put(f"/api/blobs/{hashlib.sha256(data).hexdigest()}", content=data, headers={"X-Appliance-Id": scanner.appliance_id})
    assert resp.status_code == 413
    assert resp.json()["error"] == "BLOB_TOO_LARGE" and resp.json()["params"]["limit"] == 1024


def test_names_that_are_not_hashes_never_touch_the_disk(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    resp = client.put("/api/blobs/..%2F..%2Fconfig.toml", content=b"x", headers={"X-Appliance-Id": scanner.appliance_id})
    assert resp.status_code in (404, 422)
    assert client.head("/api/blobs/ABC").status_code == 404
    assert stored_names(settings) == []
    assert Path(settings.home / "config.toml").read_text("utf-8").startswith("#")
