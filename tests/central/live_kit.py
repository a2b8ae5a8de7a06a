"""A real `central serve` over mutual TLS on loopback, and appliances that talk to it.

`start_live` initialises a central home, overrides settings in its config file
(short timeouts for the connection tests), starts the server as a child
process and waits until an enrolled appliance gets an answer. `LiveCentral.enrol`
enrols a stand-in scanner and issues its TLS client certificate, as
`central enroll` does.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from central_kit import Scanner, make_scanner

from juanzong.central.appliances import enroll, read_identity
from juanzong.central.config import load_settings
from juanzong.central.home import init_home, open_central
from juanzong.central.tls import issue_client


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveCentral:
    root: Path
    home: Path
    port: int
    proc: subprocess.Popen[bytes]
    identity: dict[str, Any]
    scanners: list[Scanner] = field(default_factory=list)

    @property
    def ca(self) -> str:
        return str(self.home / "keys" / "ca.crt")

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def enrol(self, name: str = "扫描点") -> Scanner:
        scanner = make_scanner(self.root, self.identity, name=name)
        central = open_central(load_settings(self.home))
        try:
            enroll(central.repo, read_identity(scanner.identity_path))
        finally:
            central.close()
        csr = json.loads(scanner.identity_path.read_text("utf-8"))["tls_csr"]
        cert = issue_client(self.home / "keys", csr, scanner.appliance_id)
        (self.root / f"{scanner.appliance_id}.crt").write_text(cert, "ascii")
        (self.root / f"{scanner.appliance_id}.key").write_bytes(scanner.tls_key)
        self.scanners.append(scanner)
        return scanner

    def cert(self, scanner: Scanner) -> tuple[str, str]:
        return str(self.root / f"{scanner.appliance_id}.crt"), str(self.root / f"{scanner.appliance_id}.key")

    def session(self, scanner: Scanner) -> requests.Session:
        s = requests.Session()
        s.trust_env = False  # loopback: never through a proxy
        s.verify, s.cert = self.ca, self.cert(scanner)
        s.headers["X-Appliance-Id"] = scanner.appliance_id
        return s

    def tls_socket(self, scanner: Scanner, timeout: float = 20) -> ssl.SSLSocket:
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.load_cert_chain(*self.cert(scanner))
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    def log(self) -> str:
        return (self.root / "central.log").read_text("utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def set_config(home: Path, **values: Any) -> None:
    path = home / "config.toml"
    text = path.read_text("utf-8")
    for key, value in values.items():
        text, n = re.subn(rf"^{key} = .*$", f"{key} = {json.dumps(value)}", text, flags=re.M)
        assert n == 1, key
    path.write_text(text, "utf-8")


def start_live(root: Path, **settings: Any) -> LiveCentral:
    home, port = root / "central", free_port()
    init_home(home, "127.0.0.1", port)
    set_config(home, **settings)
    log = open(root / "central.log", "wb")
    cmd = [sys.executable, "-P", "-m", "juanzong.shared.cli", "central", "serve", "--home", str(home)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    identity = json.loads((home / "central-identity.json").read_text("utf-8"))
    live = LiveCentral(root, home, port, proc, identity)
    probe = live.enrol("探测")
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            live.session(probe).get(live.url("/api/health"), timeout=2)
            return live
        except requests.RequestException:
            time.sleep(0.1)
    live.stop()
    raise RuntimeError("central serve did not answer:\n" + live.log()[-3000:])
