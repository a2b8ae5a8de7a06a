"""The HTTP application: health, the published OpenAPI document, one error shape for everything."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient


def test_health_names_this_central(client: TestClient, central_identity: dict[str, Any]) -> None:
    resp = client.get("/api/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "central_id": central_identity["central_id"]}


def test_openapi_lists_every_route(client: TestClient) -> None:
    resp = client.get("/schema/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    assert set(paths["/api/blobs/{sha256}"]) >= {"head", "put"}
    assert "post" in paths["/api/manifests"]
    assert "get" in paths["/api/report"] and "get" in paths["/api/health"]
    assert client.get("/schema").status_code == 200


def test_framework_errors_come_in_the_same_shape(client: TestClient) -> None:
    resp = client.get("/api/nothing-here")
    assert resp.status_code == 404
    assert resp.json()["error"] == "REQUEST_INVALID" and resp.json()["message"].startswith("请求无效")
    resp = client.post("/api/manifests", json={"body": "{}"})  # no signature field
    assert resp.status_code == 400 and resp.json()["error"] == "REQUEST_INVALID"
