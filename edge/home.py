"""`edge init`: the appliance's home — config, keys, database, hot folder.

The appliance's public identity (`appliance-identity.json`: id and Ed25519
public key) is what `central enroll` takes; central's public identity is
installed into the keys directory with `--central` (or later `edge pair`).
"""

from __future__ import annotations

import json
from pathlib import Path

from edge import audit
from edge.config import config_path, load_settings, render_config
from edge.db import open_db
from edge.keys import create_keys, install_central_identity
from shared import crypto
from shared.errors import AppError, ErrorCode
from shared.ids import Kind, new_id
from shared.profiles import get_printer, get_scanner

IDENTITY_FILE = "appliance-identity.json"


def init_home(home: Path, *, profile: str, printer: str = "file-printer", central_identity: Path | None = None,
              central_url: str = "", court_networks: list[str] | None = None, name: str = "扫描点",
              extra: dict | None = None) -> dict:
    if config_path(home).exists():
        raise AppError(ErrorCode.HOME_EXISTS, home=str(home))
    get_scanner(profile), get_printer(printer)  # refuse unknown profiles before writing anything
    home.mkdir(parents=True, exist_ok=True)
    appliance_id = new_id(Kind.APPLIANCE)
    values = {"appliance_id": appliance_id, "name": name, "scanner_profile": profile, "printer_profile": printer,
              "central_url": central_url, **(extra or {})}
    if court_networks:
        values["court_networks"] = court_networks
    config_path(home).write_text(render_config(values), "utf-8")
    settings = load_settings(home)
    signing = create_keys(settings.keys_dir)
    if central_identity is not None:
        pair(settings.keys_dir, central_identity)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.hot_folder.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    identity = {"appliance_id": appliance_id, "signing_public": crypto.b64(crypto.public_bytes(signing.public_key())),
                "profile": profile, "name": name}
    (home / IDENTITY_FILE).write_text(json.dumps(identity, ensure_ascii=False, indent=2), "utf-8")
    audit.record(db, place=appliance_id, actor="admin", action="key_generate", target=appliance_id, keys="kek,signing")
    db.close()
    return {"home": str(home), "hot_folder": str(settings.hot_folder), **identity}


def pair(keys_dir: Path, central_identity: Path) -> None:
    install_central_identity(keys_dir, central_identity)
