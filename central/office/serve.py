"""Serving the office pages: their own listener (TLS with the court CA's server certificate, no
client certificate: people log in), started by `central serve` as a child process so that the
sync listener's workers, timeouts and mutual TLS stay exactly as they are."""

from __future__ import annotations

import functools
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

from juanzong.central.config import CentralSettings
from juanzong.shared.children import bound_to_parent


def run(settings: CentralSettings, host: str, port: int) -> None:
    import uvicorn

    from juanzong.central.office.app import create_office_app

    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "log_config": None,
        "timeout_graceful_shutdown": 5,
        "timeout_keep_alive": 30,
    }
    if settings.tls:
        common["ssl_context_factory"] = functools.partial(_office_tls, settings.keys_dir)
    for sig in (signal.SIGTERM, signal.SIGINT):  # graceful stop exits 0 (see central/serve.py)
        signal.signal(sig, lambda *_: None)
    uvicorn.run(create_office_app(settings), **common)


def _office_tls(keys_dir: Path, _config: Any, _default: Any) -> ssl.SSLContext:
    from juanzong.central.tls import CA_CERT, TLS_CERT, TLS_KEY

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # office browsers; the sync listener stays TLS 1.3 + client certs
    ctx.load_cert_chain(keys_dir / TLS_CERT, keys_dir / TLS_KEY)
    ctx.load_verify_locations(keys_dir / CA_CERT)
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def start_child(settings: CentralSettings) -> subprocess.Popen[bytes] | None:
    """The office listener beside the sync listener, or None when `office_port` is 0."""
    if not settings.office_port:
        return None
    cmd = [sys.executable, "-P", "-m", "juanzong.shared.cli", "central", "serve-office", "--home", str(settings.home)]
    return subprocess.Popen(cmd, preexec_fn=bound_to_parent())  # an orphan would keep the office port


def stop_child(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
