"""`central init` and `central enroll`, through the real command functions."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from central_kit import make_scanner
from central_kit import run_cli as run
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from juanzong.central.config import load_settings
from juanzong.central.home import open_central
from juanzong.central.keys import central_id_for
from juanzong.shared import crypto, tlsca
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import format_id


def test_init_writes_identity_config_and_owner_only_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "c"
    rc, out = run(["init", "--home", str(home), "--host", "10.1.2.3", "--port", "9001", "--json"], capsys)
    assert rc == 0
    printed = json.loads(out)
    on_disk = json.loads((home / "central-identity.json").read_text("utf-8"))
    assert printed == on_disk
    assert on_disk["url"] == "https://10.1.2.3:9001"  # mutual TLS by default
    assert on_disk["central_id"] == central_id_for(crypto.unb64(on_disk["signing_public"]))
    assert stat.S_IMODE((home / "keys").stat().st_mode) == 0o700
    for name in ("signing.key", "hpke.key"):
        key = home / "keys" / name
        assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.stat().st_size == 32
    for name in ("ca.key", "tls.key"):
        assert stat.S_IMODE((home / "keys" / name).stat().st_mode) == 0o600
    server = tlsca.load_cert((home / "keys" / "tls.crt").read_bytes())
    assert on_disk["tls_fingerprint"] == tlsca.fingerprint(server) and "BEGIN CERTIFICATE" in on_disk["ca_cert"]
    settings = load_settings(home)
    assert (settings.host, settings.port) == ("10.1.2.3", 9001)
    assert (home / "data" / "central.db").exists() and (home / "data" / "blobs").is_dir()


def test_init_refuses_an_initialised_home(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (home / "keys" / "signing.key").read_bytes()
    with pytest.raises(AppError) as err:
        run(["init", "--home", str(home)], capsys)
    assert err.value.code == ErrorCode.HOME_EXISTS
    assert (home / "keys" / "signing.key").read_bytes() == before  # the key was not replaced


def test_home_from_environment(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JUANZONG_CENTRAL_HOME", str(home))
    rc, out = run(["report", "--json"], capsys)
    assert rc == 0 and json.loads(out)["totals"]["intakes"] == 0


def test_enroll_is_idempotent_for_the_same_key(
    tmp_path: Path, home: Path, central_identity: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    kit = make_scanner(tmp_path, central_identity, name="立案庭扫描点")
    rc, out = run(["enroll", "--home", str(home), str(kit.identity_path), "--json"], capsys)
    first = json.loads(out)
    assert rc == 0 and first["enrolled"] is True and first["name"] == "立案庭扫描点"
    # the client certificate names this appliance and is signed by central's CA
    cert = tlsca.load_cert(first["client_cert"].encode("ascii"))
    ca = tlsca.load_cert((home / "keys" / "ca.crt").read_bytes())
    assert f"CN={kit.appliance_id}" in cert.subject.rfc4514_string()
    cert.verify_directly_issued_by(ca)
    rc, out = run(["enroll", "--home", str(home), str(kit.identity_path), "--json"], capsys)
    second = json.loads(out)
    assert rc == 0 and second["enrolled"] is False and second["enrolled_at"] == first["enrolled_at"]
    central = open_central(load_settings(home))
    try:
        assert [a.appliance_id for a in central.repo.appliances()] == [kit.appliance_id]
    finally:
        central.close()


def test_enroll_refuses_an_identity_without_a_tls_request(
    tmp_path: Path, home: Path, central_identity: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    kit = make_scanner(tmp_path, central_identity)
    ident = json.loads(kit.identity_path.read_text("utf-8"))
    del ident["tls_csr"]
    kit.identity_path.write_text(json.dumps(ident), "utf-8")
    with pytest.raises(AppError) as err:
        run(["enroll", "--home", str(home), str(kit.identity_path)], capsys)
    assert err.value.code == ErrorCode.APPLIANCE_IDENTITY_INVALID and "tls_csr" in err.value.message
    central = open_central(load_settings(home))
    try:
        assert central.repo.appliances() == []  # refused means nothing stored
    finally:
        central.close()


def test_enroll_refuses_the_same_id_with_another_key(
    tmp_path: Path, home: Path, central_identity: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    kit = make_scanner(tmp_path, central_identity)
    run(["enroll", "--home", str(home), str(kit.identity_path)], capsys)
    impostor = json.loads(kit.identity_path.read_text("utf-8"))
    impostor["signing_public"] = crypto.b64(crypto.public_bytes(Ed25519PrivateKey.generate().public_key()))
    path = tmp_path / "impostor.json"
    path.write_text(json.dumps(impostor), "utf-8")
    with pytest.raises(AppError) as err:
        run(["enroll", "--home", str(home), str(path)], capsys)
    assert err.value.code == ErrorCode.APPLIANCE_KEY_CONFLICT
    assert format_id(kit.appliance_id) in err.value.message  # one printed spelling


def test_enroll_refuses_a_broken_identity_file(
    tmp_path: Path, home: Path, central_identity: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    kit = make_scanner(tmp_path, central_identity)
    raw = json.loads(kit.identity_path.read_text("utf-8"))
    bad_id = {**raw, "appliance_id": raw["appliance_id"][:-1] + ("0" if raw["appliance_id"][-1] != "0" else "1")}
    bad_key = {**raw, "signing_public": crypto.b64(b"short")}
    for doc, code in ((bad_id, ErrorCode.ID_INVALID), (bad_key, ErrorCode.APPLIANCE_IDENTITY_INVALID)):
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(doc), "utf-8")
        with pytest.raises(AppError) as err:
            run(["enroll", "--home", str(home), str(path)], capsys)
        assert err.value.code == code


def test_a_broken_config_is_refused_with_the_setting_named(home: Path) -> None:
    path = home / "config.toml"
    for line, fragment in (
        ('port = "8470"', "port"),
        ("port = 70000", "port"),
        ("max_blob_bytes = 0", "max_blob_bytes"),
        ("colour = 1", "colour"),
    ):
        text = path.read_text("utf-8")
        key = line.split(" = ")[0]
        kept = [ln for ln in text.splitlines() if not ln.startswith(f"{key} =")]
        path.write_text("\n".join([*kept, line]) + "\n", "utf-8")
        with pytest.raises(AppError) as err:
            load_settings(home)
        assert err.value.code == ErrorCode.SETTINGS_INVALID and fragment in err.value.message
        path.write_text(text, "utf-8")


def test_an_uninitialised_home_says_how_to_fix_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AppError) as err:
        run(["report", "--home", str(tmp_path / "nowhere")], capsys)
    assert err.value.code == ErrorCode.HOME_NOT_INITIALISED and "juanzong central init" in err.value.message


def test_init_and_enroll_print_a_chinese_summary_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "c"
    rc, out = run(["init", "--home", str(home), "--host", "10.1.2.3", "--port", "9001"], capsys)
    identity = json.loads((home / "central-identity.json").read_text("utf-8"))
    assert rc == 0 and "中心目录已建立" in out and identity["central_id"] in out and "central-identity.json" in out
    kit = make_scanner(tmp_path, identity, name="立案庭扫描点")
    rc, out = run(["enroll", "--home", str(home), str(kit.identity_path), "--out", str(tmp_path / "e.json")], capsys)
    assert rc == 0 and "已登记" in out and "edge pair" in out and not out.lstrip().startswith("{")
