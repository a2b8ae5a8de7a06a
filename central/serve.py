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
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import ssl
from pathlib import Path
from typing import Any

from juanzong.central.config import HOME_ENV, CentralSettings, load_settings

APP_FACTORY = "juanzong.central.serve:app_from_env"


def run(settings: CentralSettings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from juanzong.central.db import open_engine

    open_engine(settings.database_url).dispose()  # migrate now, once, not in N workers at once
    common: dict[str, Any] = {
        "host": host, "port": port, "loop": "uvloop", "http": "httptools",
        # log_config=None: uvicorn's records go through the root logger `juanzong` set up (stderr)
        "log_config": None, "timeout_graceful_shutdown": 5,
    }
    if settings.tls:
        # a module-level function (picklable): spawned workers each build their own context
        common["ssl_context_factory"] = functools.partial(_tls_context, settings.keys_dir)
    if workers <= 1:
        from juanzong.central.app import create_app

        _exit_zero_on_stop()
        uvicorn.run(create_app(settings), **common)
        return
    os.environ[HOME_ENV] = str(settings.home)  # the spawned workers find the home here
    uvicorn.run(APP_FACTORY, factory=True, workers=workers, **common)


def app_from_env() -> Any:
    """One worker's application (uvicorn calls this in each worker process)."""
    from juanzong.central.app import create_app

    if not logging.getLogger().handlers:  # a spawned worker: log as the parent does
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(process)d %(name)s %(message)s")
    return create_app(load_settings(Path(os.environ[HOME_ENV])))


def _tls_context(keys_dir: Path, _config: Any, _default: Any) -> ssl.SSLContext:
    from juanzong.central.tls import server_context

    return server_context(keys_dir)


def _exit_zero_on_stop() -> None:
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to
    # the handler it found; a no-op handler makes that graceful stop exit 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
