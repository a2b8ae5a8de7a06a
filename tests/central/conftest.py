"""Fixtures for the central server: a real home, a real appliance, real sealed pages.

Everything is built with the production code paths: `init_home` writes keys and
the database into tmp_path, the appliance signs with its own Ed25519 key, pages
are small real JPEGs sealed with `seal_blob` to central's HPKE public key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from central_kit import Scanner, make_scanner
from litestar.testing import TestClient
from stacks import Stack

from juanzong.central.app import create_app
from juanzong.central.appliances import enroll, read_identity
from juanzong.central.config import CentralSettings, load_settings
from juanzong.central.home import init_home, open_central


@pytest.fixture
def home(tmp_path: Path, stack: Stack) -> Path:
    """A central home on each stack (tests/conftest.py): SQLite + local disk, PostgreSQL + S3."""
    path = tmp_path / "central"
    init_home(path, "127.0.0.1", 8470, extra=stack.settings)
    return path


@pytest.fixture
def settings(home: Path) -> CentralSettings:
    return load_settings(home)


@pytest.fixture
def central_identity(home: Path) -> dict[str, Any]:
    return json.loads((home / "central-identity.json").read_text("utf-8"))


@pytest.fixture
def scanner(tmp_path: Path, settings: CentralSettings, central_identity: dict[str, Any]) -> Scanner:
    """An appliance already enrolled at central."""
    kit = make_scanner(tmp_path, central_identity)
    central = open_central(settings)
    try:
        enroll(central.repo, read_identity(kit.identity_path))
    finally:
        central.close()
    return kit


@pytest.fixture
def client(settings: CentralSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
