"""`central serve`: the sync listener — uvicorn running the app behind `tlsserve.Gate`.

TLS is done by the gate (not by uvicorn), so handshakes have a deadline, sockets
are counted before anything is read, and the verified client certificate
reaches the application. A certificate whose appliance is unknown or revoked is
refused right after the handshake and audited (the CRL in the TLS context
refuses it in the handshake itself from the next start on).
"""

from __future__ import annotations

import signal
import time

import uvicorn

from juanzong.central import audit
from juanzong.central.app import create_app
from juanzong.central.config import CentralSettings
from juanzong.central.home import Central
from juanzong.central.tls import server_context
from juanzong.central.tlsserve import Limits, gate_class


def serve(settings: CentralSettings, host: str, port: int) -> int:
    app = create_app(settings)
    central: Central = app.state["central"]
    limits = Limits(timeout=settings.request_timeout_seconds, max_connections=settings.max_connections,
                    max_per_address=settings.max_connections_per_address, min_body_rate=settings.min_body_bytes_per_second)
    ctx = server_context(settings.keys_dir) if settings.tls else None
    gate = gate_class(limits, ctx, CertificateCheck(central))
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to
    # the handler it found; a no-op handler makes that graceful stop exit 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    # log_config=None: uvicorn's records go through the root logger `juanzong` set up (stderr).
    # loop="asyncio": under uvloop, start_tls lost the request that a TLS 1.3 client sends
    # together with its Finished (about 3 in 4 handshakes hung); asyncio's does not.
    uvicorn.run(app, host=host, port=port, loop="asyncio", http=gate, log_config=None,  # type: ignore[arg-type]
                timeout_keep_alive=settings.request_timeout_seconds, timeout_graceful_shutdown=5)
    return 0


class CertificateCheck:
    """`refused(name, serial)`: True for an unknown or revoked appliance (audited); cached briefly."""

    TTL = 2.0

    def __init__(self, central: Central) -> None:
        self.central = central
        self._cache: dict[str, tuple[float, bool]] = {}

    def __call__(self, name: str, serial: str) -> bool:
        now = time.monotonic()
        hit = self._cache.get(name)
        if hit is None or now - hit[0] > self.TTL:
            appliance = self.central.repo.appliance(name)
            hit = (now, appliance is None or bool(appliance.revoked_at))
            self._cache[name] = hit
        if hit[1]:
            audit.record(self.central.repo.engine, actor=name, action="connect", target=serial or name, outcome="refused",
                         reason="revoked or not enrolled")
        return hit[1]
