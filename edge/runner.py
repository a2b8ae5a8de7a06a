"""`edge run`: the appliance's long-running loops.

Three threads, each with its own database connections: the ingest worker
(watch → claim → store, edge.appliance), the outbox loop (seal due batches,
sync them, flush queued receipts) and the counter kiosk (edge.web, served by
waitress on `kiosk_listen`, one connection per request). They share nothing but
the database and the blob directory, whose writes are transactional and atomic.
A fourth supervises the documents worker, a separate process at lower priority
(edge.documents.worker: PDFs and OCR), started once start-up recovery has swept
the blob directory and started again whenever it exits.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from juanzong.edge import batches, printing, repo
from juanzong.edge.appliance import Appliance
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.config import EdgeSettings
from juanzong.edge.keys import load_keys
from juanzong.edge.purge import Retention, purge_due
from juanzong.edge.sync.client import sync_due
from juanzong.edge.sync.transport import transport_for
from juanzong.shared import clock
from juanzong.shared.children import bound_to_parent
from juanzong.shared.errors import AppError, ErrorCode

log = logging.getLogger("juanzong.run")
PURGE_INTERVAL_SECONDS = 3600.0


def outbox_once(db, store, transport, keys, settings: EdgeSettings, force_seal: bool = False) -> dict:
    sealed = None
    if force_seal or batches.due(db, settings.batch_idle_seconds, settings.batch_max_pages):
        sealed = batches.seal(db, settings.appliance_id, keys)
    results = sync_due(db, store, transport, keys, settings.appliance_id, settings.sync_backoff_max_seconds) if transport else []
    return {"sealed": sealed, "synced": [r.__dict__ for r in results]}


def outbox_loop(settings: EdgeSettings, stop: threading.Event) -> None:
    # this thread's own connection (the ingest thread has another)
    db, store, keys = repo.connect(settings), BlobStore(settings.blob_dir), load_keys(settings.keys_dir)
    transport = None
    next_purge = 0.0
    while not stop.is_set():
        try:
            # built inside the loop: an appliance paired while running starts syncing
            if transport is None and settings.central_url:
                transport = transport_for(settings)
            outbox_once(db, store, transport, keys, settings)
            printing.flush(db, settings)
            if time.monotonic() >= next_purge:  # crypto-shredding on schedule (edge/purge.py)
                next_purge = time.monotonic() + PURGE_INTERVAL_SECONDS
                purge_due(db, store, settings.appliance_id, Retention.from_settings(settings), clock.now())
        except AppError as err:
            log.warning("outbox: %s %s", err.code, err.message)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("outbox round failed")
        stop.wait(settings.sync_interval_seconds)


def single_instance(settings: EdgeSettings):
    """An exclusive lock held for the life of `edge run` / `edge ingest --once`: one
    ingest worker per home, because routing follows the scanner's file order and
    start-up recovery takes over whatever the spool holds."""
    path = settings.data_dir / "edge-run.lock"
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise AppError(ErrorCode.APPLIANCE_RUNNING, lock=str(path)) from exc
    return handle


def documents_loop(settings: EdgeSettings, stop: threading.Event, recovered: threading.Event) -> None:
    """Keep one documents worker process running until `stop`; never before recovery's blob sweep."""
    from juanzong.edge.documents.worker import PARENT_ENV, RECYCLE_EXIT

    while not (recovered.is_set() or stop.is_set()):
        stop.wait(0.1)
    backoff = 1.0
    while not stop.is_set():
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "juanzong.shared.cli", "edge", "documents-worker", "--home", str(settings.home)],
            env={**os.environ, PARENT_ENV: str(os.getpid())},
            preexec_fn=bound_to_parent(),  # dies with us, even by kill -9: see shared.children
        )
        while proc.poll() is None and not stop.is_set():
            stop.wait(0.5)
        if stop.is_set():
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return
        if proc.returncode == RECYCLE_EXIT:
            backoff = 1.0
            continue
        log.error("documents worker exited with %s; restarting in %.0f s", proc.returncode, backoff)
        stop.wait(backoff)
        backoff = min(backoff * 2, 300.0)


def start_kiosk(settings: EdgeSettings):
    """The counter kiosk on its own thread; returns the waitress server (close() to stop)."""
    from waitress.server import create_server

    from juanzong.edge.web import create_app

    host, port = settings.kiosk_address
    server = create_server(create_app(settings), host=host, port=port, threads=4, ident="juanzong-kiosk")
    threading.Thread(target=server.run, name="kiosk", daemon=True).start()
    log.info("counter kiosk at %s", settings.kiosk_url)
    return server


def run(settings: EdgeSettings) -> int:
    lock = single_instance(settings)  # noqa: F841 - released when the process exits
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    appliance = Appliance(settings)  # migrates the database before either thread connects
    outbox = threading.Thread(target=outbox_loop, args=(settings, stop), name="outbox", daemon=True)
    outbox.start()
    recovered = threading.Event()
    documents = threading.Thread(target=documents_loop, args=(settings, stop, recovered), name="documents", daemon=True)
    documents.start()
    try:
        kiosk = start_kiosk(settings)
    except OSError as err:  # the scanner must keep working even if the kiosk port is taken
        log.error("counter kiosk not started on %s: %s", settings.kiosk_listen, err)
        kiosk = None
    log.info("appliance %s watching %s", settings.appliance_id, settings.hot_folder)
    appliance.run_watch(stop, on_idle=recovered.set)
    if kiosk is not None:
        kiosk.close()
    outbox.join(timeout=10)
    documents.join(timeout=20)
    return 0
