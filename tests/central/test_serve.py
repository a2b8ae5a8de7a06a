"""The real `juanzong central serve` process: starts fast, answers, stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_files(home: Path, tmp: Path) -> tuple[str, tuple[str, str]]:
    """A client certificate from central's CA, as enrolment issues one."""
    from juanzong.central.config import load_settings
    from juanzong.central.home import open_central
    from juanzong.central.repository import Appliance
    from juanzong.central.tls import issue_client
    from juanzong.shared import tlsca
    from juanzong.shared.ids import Kind, new_id

    appliance_id, key = new_id(Kind.APPLIANCE), tlsca.new_key()
    cert = issue_client(home / "keys", tlsca.new_csr(key, appliance_id).decode("ascii"), appliance_id)
    central = open_central(load_settings(home))  # only an enrolled appliance's certificate gets past the gate
    try:
        central.repo.add_appliance(Appliance(appliance_id, "A" * 44, "default", "测试", "2026-03-02T00:00:00+00:00"))
    finally:
        central.close()
    (tmp / "client.crt").write_text(cert, "ascii")
    (tmp / "client.key").write_bytes(tlsca.key_pem(key))
    return str(home / "keys" / "ca.crt"), (str(tmp / "client.crt"), str(tmp / "client.key"))


@pytest.mark.e2e  # `central serve` as a real process
def test_serve_answers_health_and_exits_cleanly_on_sigterm(home: Path, central_identity: dict[str, Any], tmp_path: Path) -> None:
    ca, cert = client_files(home, tmp_path)
    port = free_port()
    cmd = [sys.executable, "-P", "-m", "juanzong.shared.cli", "central", "serve", "--home", str(home), "--port", str(port)]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body, elapsed = None, 0.0
        session = requests.Session()
        session.trust_env = False  # loopback: never through a proxy
        while time.monotonic() - started < 15 and proc.poll() is None:
            try:
                body = session.get(f"https://127.0.0.1:{port}/api/health", timeout=1, verify=ca, cert=cert).json()
                elapsed = time.monotonic() - started
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert body == {"status": "ok", "central_id": central_identity["central_id"]}, (
            proc.stderr.read1().decode() if proc.poll() is not None else body
        )
        print(f"central serve answered after {elapsed:.2f} s")  # a figure, not a timed assertion
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        out, err = proc.communicate(timeout=5)
        assert out == b""  # logs go to stderr, stdout stays clean for scripts
        assert b"GET /api/health" in err and b"Application shutdown complete" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
