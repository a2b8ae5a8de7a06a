"""`central serve`: uvicorn, in one process or as N stateless workers on one listening socket.

With `--workers N` (or the `workers` setting) uvicorn's supervisor binds the
socket once and starts N worker processes (spawned, so nothing is shared but
the socket); each builds its own application from the home named in
`JUANZONG_CENTRAL_HOME` (`app_from_env`) — its own engine and blob-store
client, no cache another worker could contradict. Everything a request needs
is read from the database or the store, and every read-then-write takes its
lock there (central/db.py). Across machines, a TCP load balancer in front of
several hosts does the same (README: province deployment).

The schema is migrated once, before any worker starts.

TLS is done by `tlsserve.Gate` (not by uvicorn), in every worker: handshakes
have a deadline, sockets are counted before anything is read, requests have
header/body/idle deadlines, and the verified client certificate reaches the
application. A certificate whose appliance is unknown or revoked is refused
right after the handshake and audited (the CRL in the TLS context refuses it in
the handshake itself from the next start on).
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any

from juanzong.central.config import HOME_ENV, CentralSettings, load_settings
from juanzong.central.tlsserve import Gate, Limits
from juanzong.shared.audit import Action, Outcome

APP_FACTORY = "juanzong.central.serve:app_from_env"


def run(settings: CentralSettings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from juanzong.central.db import open_engine

    open_engine(settings.database_url).dispose()  # migrate now, once, not in N workers at once
    common: dict[str, Any] = {
        # loop="asyncio": under uvloop, start_tls lost the request a TLS 1.3 client sends together
        # with its Finished (about 3 in 4 handshakes hung); asyncio's does not
        "host": host,
        "port": port,
        "loop": "asyncio",
        "http": Gate,
        # log_config=None: uvicorn's records go through the root logger `juanzong` set up (stderr)
        "log_config": None,
        "timeout_graceful_shutdown": 5,
        "timeout_keep_alive": settings.request_timeout_seconds,
    }
    if workers <= 1:
        from juanzong.central.app import create_app

        _exit_zero_on_stop()
        app = create_app(settings)
        configure_gate(settings, app.state["central"])
        uvicorn.run(app, **common)
        return
    os.environ[HOME_ENV] = str(settings.home)  # the spawned workers find the home here
    uvicorn.run(APP_FACTORY, factory=True, workers=workers, **common)


def app_from_env() -> Any:
    """One worker's application (uvicorn calls this in each worker process)."""
    from juanzong.central.app import create_app

    if not logging.getLogger().handlers:  # a spawned worker: log as the parent does
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(process)d %(name)s %(message)s")
    settings = load_settings(Path(os.environ[HOME_ENV]))
    app = create_app(settings)
    configure_gate(settings, app.state["central"])
    return app


def configure_gate(settings: CentralSettings, central: Any) -> None:
    """This process's limits, TLS context and certificate check for every `Gate`."""
    from juanzong.central.tls import server_context

    limits = Limits(
        timeout=settings.request_timeout_seconds,
        max_connections=settings.max_connections,
        max_per_address=settings.max_connections_per_address,
        min_body_rate=settings.min_body_bytes_per_second,
    )
    Gate.configure(limits, server_context(settings.keys_dir) if settings.tls else None, CertificateCheck(central))


class CertificateCheck:
    """`refused(name, serial)`: True for an unknown or revoked appliance (audited). Asked on every
    handshake (one primary-key read), so a revocation holds from the next connection on."""

    def __init__(self, central: Any) -> None:
        self.central = central

    def __call__(self, name: str, serial: str) -> bool:
        from juanzong.central import audit

        appliance = self.central.repo.appliance(name)
        refused = appliance is None or bool(appliance.revoked_at)
        if refused:
            audit.record(
                self.central.repo.engine,
                actor=name,
                action=Action.CONNECT,
                target=serial or name,
                outcome=Outcome.REFUSED,
                reason="revoked" if appliance is not None else "not enrolled",
            )
        return refused


def _exit_zero_on_stop() -> None:
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to
    # the handler it found; a no-op handler makes that graceful stop exit 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
