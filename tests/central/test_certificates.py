"""Certificates a strict client accepts, revocation, renewal, and a court's own CA (issue 9, point 7)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
from pathlib import Path

import pytest
import requests
from central_kit import run_cli
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID
from live_kit import LiveCentral, start_live

from juanzong.central import audit
from juanzong.central.config import load_settings
from juanzong.central.home import init_home, open_central
from juanzong.shared import tlsca


def strict_context(live: LiveCentral, scanner) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=live.ca)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default
    ctx.load_cert_chain(*live.cert(scanner))
    return ctx


def rfc5280_verify(home: Path, leaf_pem: bytes, server: bool) -> None:
    """cryptography's RFC 5280 path validation (what sslyze's checks amount to)."""
    ca = x509.load_pem_x509_certificate((home / "keys" / "ca.crt").read_bytes())
    leaf = x509.load_pem_x509_certificate(leaf_pem)
    builder = verification.PolicyBuilder().store(verification.Store([ca])).time(dt.datetime.now(dt.UTC))
    if server:
        builder.build_server_verifier(x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))).verify(leaf, [])
    else:
        builder.build_client_verifier().verify(leaf, [])


@pytest.mark.e2e  # `central serve` as a real process
def test_the_issued_chain_passes_strict_verification(tmp_path: Path) -> None:
    live = start_live(tmp_path)
    try:
        scanner = live.enrol("一号")
        with (
            socket.create_connection(("127.0.0.1", live.port), timeout=10) as raw,
            strict_context(live, scanner).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert tls.recv(100).startswith(b"HTTP/1.1 200")
        rfc5280_verify(live.home, (live.home / "keys" / "tls.crt").read_bytes(), server=True)
        rfc5280_verify(live.home, Path(live.cert(scanner)[0]).read_bytes(), server=False)
        for path in (live.home / "keys" / "ca.crt", live.home / "keys" / "tls.crt", Path(live.cert(scanner)[0])):
            cert = x509.load_pem_x509_certificate(path.read_bytes())
            assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            assert cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
            assert cert.extensions.get_extension_for_class(x509.KeyUsage).critical
    finally:
        live.stop()


@pytest.mark.e2e  # `central serve` as a real process
def test_a_revoked_appliance_is_refused_at_once_and_in_the_handshake_after_a_restart(tmp_path: Path, capsys) -> None:
    live = start_live(tmp_path)
    try:
        scanner = live.enrol("一号")
        session = live.session(scanner)
        assert session.get(live.url("/api/health"), timeout=10).status_code == 200
        central = open_central(load_settings(live.home))
        try:  # record the certificate as `central enroll` does
            from juanzong.central.tls import serial_of

            central.repo.add_cert_serial(scanner.appliance_id, serial_of(Path(live.cert(scanner)[0]).read_text("ascii")))
        finally:
            central.close()
        rc, out = run_cli(["revoke", scanner.appliance_id, "--reason", "设备丢失", "--home", str(live.home), "--json"], capsys)
        assert rc == 0 and json.loads(out)["certificates_revoked"] == 1
        with pytest.raises(requests.exceptions.ConnectionError):  # cut right after the handshake (running server)
            live.session(scanner).get(live.url("/api/health"), timeout=10)
        central = open_central(load_settings(live.home))
        try:
            rows = [r for r, _ in audit.records(central.repo.engine)]
            assert any(r.action == "revoke" and r.target == scanner.appliance_id and r.detail["reason"] == "设备丢失" for r in rows)
            assert any(r.action == "connect" and r.outcome == "refused" and r.actor == scanner.appliance_id for r in rows)
        finally:
            central.close()
    finally:
        live.stop()
    restarted = start_live_again(live)
    try:
        ctx = ssl.create_default_context(cafile=live.ca)
        ctx.load_cert_chain(*live.cert(scanner))
        with (
            socket.create_connection(("127.0.0.1", live.port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            with pytest.raises((ssl.SSLError, ConnectionResetError)) as err:
                if not tls.recv(100):
                    raise ConnectionResetError("closed")
            assert "revoked" in str(err.value) or isinstance(err.value, ConnectionResetError)
    finally:
        restarted.stop()


def start_live_again(live: LiveCentral) -> LiveCentral:
    import subprocess
    import sys
    import time

    log = open(live.root / "central2.log", "wb")
    cmd = [sys.executable, "-P", "-m", "juanzong.shared.cli", "central", "serve", "--home", str(live.home)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    again = LiveCentral(live.root, live.home, live.port, proc, live.identity, live.scanners)
    probe = live.scanners[0]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            again.session(probe).get(again.url("/api/health"), timeout=2)
            return again
        except requests.RequestException:
            time.sleep(0.1)
    again.stop()
    raise RuntimeError("central serve did not restart")


def test_a_revoked_appliance_cannot_enrol_again(tmp_path: Path, capsys) -> None:
    from central_kit import make_scanner

    home = tmp_path / "central"
    init_home(home, "127.0.0.1", 8470)
    identity = json.loads((home / "central-identity.json").read_text("utf-8"))
    scanner = make_scanner(tmp_path, identity)
    assert run_cli(["enroll", str(scanner.identity_path), "--home", str(home)], capsys)[0] == 0
    assert run_cli(["revoke", scanner.appliance_id, "--reason", "退役", "--home", str(home)], capsys)[0] == 0
    from juanzong.shared.errors import AppError

    with pytest.raises(AppError) as err:
        run_cli(["enroll", str(scanner.identity_path), "--home", str(home)], capsys)
    assert err.value.code == "APPLIANCE_REVOKED"
    crl = x509.load_pem_x509_crl((home / "keys" / "ca.crl").read_bytes())
    assert len(list(crl)) == 1


def test_a_courts_existing_ca_is_imported_at_init(tmp_path: Path, capsys) -> None:
    # a court CA as another tool made it: RSA-free here, no SKI of ours, a different name
    key = tlsca.new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "某某市中级人民法院 CA")])
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "court-ca.crt").write_bytes(tlsca.cert_pem(ca))
    (tmp_path / "court-ca.key").write_bytes(tlsca.key_pem(key))
    home = tmp_path / "central"
    rc, out = run_cli(
        ["init", "--home", str(home), "--json", "--ca-cert", str(tmp_path / "court-ca.crt"), "--ca-key", str(tmp_path / "court-ca.key")],
        capsys,
    )
    assert (
        rc == 0 and "某某市中级人民法院 CA" in x509.load_pem_x509_certificate(json.loads(out)["ca_cert"].encode()).subject.rfc4514_string()
    )
    rfc5280_verify(home, (home / "keys" / "tls.crt").read_bytes(), server=True)
    not_a_ca_key, not_a_ca = tlsca.issue_server(key, ca, ["127.0.0.1"])
    (tmp_path / "leaf.crt").write_bytes(tlsca.cert_pem(not_a_ca))
    (tmp_path / "leaf.key").write_bytes(tlsca.key_pem(not_a_ca_key))
    from juanzong.shared.errors import AppError

    with pytest.raises(AppError) as err:
        run_cli(
            ["init", "--home", str(tmp_path / "other"), "--ca-cert", str(tmp_path / "leaf.crt"), "--ca-key", str(tmp_path / "leaf.key")],
            capsys,
        )
    assert err.value.code == "CA_INVALID" and not (tmp_path / "other" / "keys").exists()


def test_renew_server_issues_a_new_certificate_and_fingerprint(tmp_path: Path, capsys) -> None:
    home = tmp_path / "central"
    init_home(home, "127.0.0.1", 8470)
    before = json.loads((home / "central-identity.json").read_text("utf-8"))["tls_fingerprint"]
    rc, out = run_cli(["renew-server", "--home", str(home), "--json"], capsys)
    after = json.loads((home / "central-identity.json").read_text("utf-8"))["tls_fingerprint"]
    assert rc == 0 and json.loads(out)["tls_fingerprint"] == after != before
    rfc5280_verify(home, (home / "keys" / "tls.crt").read_bytes(), server=True)
