"""Appliance fixtures: a real home (keys, SQLite, hot folder) paired with a test central key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from edge_kit import make_home

from juanzong.shared import crypto


@dataclass
class CentralKeys:
    hpke: X25519PrivateKey
    signing: Ed25519PrivateKey
    identity_file: Path


@pytest.fixture
def central_keys(tmp_path: Path) -> CentralKeys:
    hpke, signing = X25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ident = {
        "central_id": "C-TEST",
        "url": "",
        "hpke_public": crypto.b64(crypto.public_bytes(hpke.public_key())),
        "signing_public": crypto.b64(crypto.public_bytes(signing.public_key())),
    }
    path = tmp_path / "central-identity.json"
    path.write_text(json.dumps(ident), "utf-8")
    return CentralKeys(hpke, signing, path)


@pytest.fixture
def edge_home(tmp_path: Path, central_keys: CentralKeys) -> Path:
    return make_home(tmp_path, central_keys)


@pytest.fixture
def settings(edge_home: Path):
    from juanzong.edge.config import load_settings

    return load_settings(edge_home)


@pytest.fixture
def db(settings):
    from juanzong.edge.repo import connect

    database = connect(settings.db_path)
    yield database
    database.close()
