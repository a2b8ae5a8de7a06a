"""`edge init`: the appliance's home — config, keys, database, hot folder.

The appliance's public identity (`appliance-identity.json`: id, Ed25519 public
key, TLS certificate request) is what `central enroll` takes; central's public
identity is installed into the keys directory with `--central`, and the client
certificate central issued with `edge pair --enrolment`.
"""

from __future__ import annotations

import json
from pathlib import Path

from juanzong.edge import audit, repo
from juanzong.edge.config import SETTINGS, config_path, load_settings, render_config, settings_from
from juanzong.edge.configure import check_hot_folder, check_printed
from juanzong.edge.devices.profiles import get_printer, get_scanner
from juanzong.edge.keys import create_keys, install_central_identity, install_enrolment
from juanzong.shared import crypto
from juanzong.shared.audit import Action
from juanzong.shared.durable import write_durable
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.settings import under

IDENTITY_FILE = "appliance-identity.json"


def init_home(
    home: Path,
    *,
    profile: str,
    printer: str = "file-printer",
    central_identity: Path | None = None,
    central_url: str = "",
    court_networks: list[str] | None = None,
    name: str = "扫描点",
    extra: dict | None = None,
    court: str = "",
    hot_folder: str = "",
) -> dict:
    """`court` is printed on receipts and cover sheets; `hot_folder` overrides the scanner
    profile's (a tmpfs mount point where the profile requires RAM)."""
    if config_path(home).exists():
        raise AppError(ErrorCode.HOME_EXISTS, home=str(home))
    scanner = get_scanner(profile)
    get_printer(printer)  # refuse unknown profiles before writing anything
    check_printed("court", court)
    check_printed("name", name)
    appliance_id = new_id(Kind.APPLIANCE)
    values = {
        "appliance_id": appliance_id,
        "name": name,
        "scanner_profile": profile,
        "printer_profile": printer,
        "central_url": central_url,
        "court": court,
        "hot_folder": hot_folder,
        **(extra or {}),
    }
    if court_networks:
        values["court_networks"] = court_networks
    settings_from(home, {**{s.name: s.default for s in SETTINGS}, **values})  # CIDRs and the rest, before writing
    if hot_folder:
        check_hot_folder(under(home, hot_folder), scanner.tmpfs_required)
    home.mkdir(parents=True, exist_ok=True)
    write_durable(config_path(home), render_config(values).encode("utf-8"))
    settings = load_settings(home)
    signing, csr = create_keys(settings.keys_dir, appliance_id)
    if central_identity is not None:
        pair(settings.keys_dir, central_identity)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=repo.DIR_MODE)
    settings.hot_folder.mkdir(parents=True, exist_ok=True)
    repo.migrate(settings)  # data/ 0700, the database 0600 (repo.secure); keys/ is 0700 from create_keys
    db = repo.connect(settings)
    identity = {
        "appliance_id": appliance_id,
        "signing_public": crypto.b64(crypto.public_bytes(signing.public_key())),
        "profile": profile,
        "name": name,
        "tls_csr": csr,
    }
    write_durable(home / IDENTITY_FILE, json.dumps(identity, ensure_ascii=False, indent=2).encode("utf-8"))
    audit.record(db, place=appliance_id, actor="admin", action=Action.KEY_GENERATE, target=appliance_id, keys="kek,signing")
    db.close()
    return {"home": str(home), "hot_folder": str(settings.hot_folder), **identity}


def pair(keys_dir: Path, central_identity: Path | None = None, enrolment: Path | None = None, appliance_id: str = "") -> None:
    """Install central's identity (CA, pinned fingerprint, keys) and/or the client
    certificate central issued at enrolment."""
    if central_identity is not None:
        install_central_identity(keys_dir, central_identity)
    if enrolment is not None:
        install_enrolment(keys_dir, enrolment, appliance_id)
