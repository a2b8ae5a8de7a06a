"""The central home directory: create it once, open it for every command.

<home>/config.toml             settings (see central/config.py)
<home>/central-identity.json   public keys + URL, handed to each appliance
<home>/keys/                   signing.key, hpke.key; ca.key/ca.crt, tls.key/tls.crt (0700 / 0600)
<home>/data/central.db         the database (default SQLite URL)
<home>/data/blobs/ab/abcd…     encrypted pages, content-addressed
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juanzong.central import keys as central_keys
from juanzong.central import tls as central_tls
from juanzong.central.config import CentralSettings, config_path, load_settings, render_config
from juanzong.central.db import open_engine
from juanzong.central.keys import CentralKeys
from juanzong.central.repository import Repository
from juanzong.central.storage import BlobStore, S3BlobStore, open_store
from juanzong.shared.durable import ensure_dir, write_durable
from juanzong.shared.errors import AppError, ErrorCode


@dataclass(frozen=True)
class Central:
    """Everything a request or a command works with, opened once from the settings."""

    settings: CentralSettings
    repo: Repository
    store: BlobStore
    keys: CentralKeys

    @property
    def central_id(self) -> str:
        return self.keys.central_id

    def close(self) -> None:
        self.repo.engine.dispose()


def init_home(
    home: Path, host: str, port: int, tls: bool = True, extra: dict[str, Any] | None = None, court_ca: tuple[Path, Path] | None = None
) -> dict[str, Any]:
    """Create config, keys, database and blob store; returns the identity written.

    `extra` sets further settings in the config written (a database URL, the S3 store)."""
    if config_path(home).exists() or (home / "keys").exists():
        raise AppError(ErrorCode.HOME_EXISTS, home=str(home))
    if court_ca:  # checked before anything is written
        central_tls.load_court_ca(*court_ca)
    ensure_dir(home)
    values = {"host": host, "port": port, "tls": tls, **(extra or {})}
    write_durable(config_path(home), render_config(values).encode("utf-8"))
    settings = load_settings(home)
    keys = central_keys.create_keys(settings.keys_dir)
    tls_public = central_tls.create(settings.keys_dir, host, court_ca) if tls else {}
    ensure_dir(settings.data_dir, mode=0o700)  # case numbers and names are confidential too
    init_store(settings)
    open_engine(settings.database_url).dispose()  # migrates the schema now, not on first request
    ident = {**central_keys.identity(keys, settings.public_url), **tls_public}
    text = json.dumps(ident, ensure_ascii=False, indent=2) + "\n"
    write_durable(settings.identity_path, text.encode("utf-8"))
    return ident


def init_store(settings: CentralSettings) -> None:
    if settings.blob_backend == "local":
        ensure_dir(settings.blob_dir, mode=0o700)
        return
    store = open_store(settings)
    if isinstance(store, S3BlobStore):
        store.ensure_bucket()  # and proves the endpoint and credentials work, at init rather than at the first upload


def open_central(settings: CentralSettings) -> Central:
    return Central(
        settings=settings,
        repo=Repository(open_engine(settings.database_url)),
        store=open_store(settings),
        keys=central_keys.load_keys(settings.keys_dir),
    )
