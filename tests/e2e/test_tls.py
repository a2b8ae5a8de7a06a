"""Mutual TLS between the appliance and a real `central serve`: what is refused, and where.

Every refusal happens in the handshake, before any handler runs, except the
plain-HTTP one, which the appliance refuses before it opens a connection.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import time
from pathlib import Path

import pytest
import requests

from juanzong.edge.config import load_settings
from juanzong.edge.keys import TlsFiles, load_central, tls_files
from juanzong.edge.sync.transport import HttpTransport, transport_for
from juanzong.edge.tooling import demo
from juanzong.shared import tlsca
from juanzong.shared.errors import AppError, ErrorCode

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls")
    port = demo.free_port()
    homes = demo.setup_homes(root, port)
    central = demo.start(["central", "serve", "--home", str(homes.central)], root / "central.log")
    demo.wait_central(homes.edge)
    yield homes, port
    demo.stop(central)


def handled(homes) -> int:
    """Requests central's handlers answered so far (its access log), once the log has
    stopped growing: the server writes its line a moment after the client has the reply."""

    def count() -> int:
        return (homes.root / "central.log").read_text("utf-8", errors="replace").count("GET /api/health")

    last = count()
    while True:
        time.sleep(0.3)
        now = count()
        if now == last:
            return now
        last = now


def files(homes) -> TlsFiles:
    settings = load_settings(homes.edge)
    return tls_files(settings.keys_dir, load_central(settings.keys_dir))


def test_the_paired_appliance_gets_through(running):
    homes, _ = running
    before = handled(homes)
    assert transport_for(load_settings(homes.edge)).health()["status"] == "ok"
    assert handled(homes) == before + 1  # the access log counts what handlers answered


def test_no_client_certificate_is_refused_in_the_handshake(running):
    homes, port = running
    session = requests.Session()
    session.trust_env = False
    before = handled(homes)
    # TLS 1.3: the server checks the client's certificate after its own Finished,
    # so the client sees the refusal as the connection closing, not as an SSL error
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"https://127.0.0.1:{port}/api/health", verify=str(files(homes).ca), timeout=5)
    assert handled(homes) == before


def test_a_client_certificate_from_another_ca_is_refused(running, tmp_path):
    homes, port = running
    ca_key, ca_cert = tlsca.new_ca("not the court")
    key = tlsca.new_key()
    settings = load_settings(homes.edge)
    cert = tlsca.issue_client(ca_key, ca_cert, tlsca.new_csr(key, settings.appliance_id), settings.appliance_id)
    (tmp_path / "c.crt").write_bytes(tlsca.cert_pem(cert))
    (tmp_path / "c.key").write_bytes(tlsca.key_pem(key))
    forged = dataclasses.replace(files(homes), cert=tmp_path / "c.crt", key=tmp_path / "c.key")
    transport = HttpTransport(settings.central_url, settings.appliance_id, settings.court_networks, 5, forged)
    before = handled(homes)
    with pytest.raises(AppError) as err:
        transport.health()
    assert err.value.code in (ErrorCode.SYNC_TLS_FAILED, ErrorCode.SYNC_NETWORK_DOWN)  # queued for retry either way
    assert handled(homes) == before


def test_a_server_whose_fingerprint_differs_from_the_pin_is_refused(running):
    homes, _ = running
    settings = load_settings(homes.edge)
    wrong_pin = dataclasses.replace(files(homes), fingerprint="00" * 32)
    transport = HttpTransport(settings.central_url, settings.appliance_id, settings.court_networks, 5, wrong_pin)
    with pytest.raises(AppError) as err:
        transport.has_blob("0" * 64)
    assert err.value.code is ErrorCode.SYNC_TLS_FAILED and "双向认证失败" in err.value.message


def test_tls_1_2_is_not_accepted(running):
    homes, port = running
    tls = files(homes)
    ctx = ssl.create_default_context(cafile=str(tls.ca))
    ctx.load_cert_chain(str(tls.cert), str(tls.key))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
        ctx.wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        pass


def test_plain_http_beyond_loopback_is_refused_before_connecting():
    import ipaddress

    court = (ipaddress.ip_network("10.0.0.0/8"),)
    transport = HttpTransport("http://10.20.30.40:8470", "A0000000000", court, 5)  # never contacted
    with pytest.raises(AppError) as err:
        transport.health()
    assert err.value.code is ErrorCode.SYNC_TLS_REQUIRED


def test_https_without_pairing_is_refused(tmp_path: Path):
    with pytest.raises(AppError) as err:
        HttpTransport("https://central.court.internal:8470", "A0000000000", (), 5, tls=None)
    assert err.value.code is ErrorCode.SYNC_TLS_NOT_PAIRED


def test_an_enrolment_for_another_appliance_is_not_installed(running, tmp_path: Path):
    import json

    homes, _ = running
    enrolment = json.loads((homes.root / "enrolment.json").read_text("utf-8"))
    other = demo.juanzong("edge", "init", "--home", str(tmp_path / "other"), "--profile", "simulated", check=True)
    assert other.returncode == 0
    (tmp_path / "stolen.json").write_text(json.dumps(enrolment), "utf-8")
    result = demo.juanzong("edge", "pair", "--home", str(tmp_path / "other"), "--enrolment", str(tmp_path / "stolen.json"), check=False)
    assert result.returncode == 1 and "不是本设备的" in result.stderr
    assert not (tmp_path / "other" / "keys" / "tls-client.crt").exists()
