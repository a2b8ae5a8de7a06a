"""The OCR worker: one long-lived background process, lower priority, earliest deadline first.

`edge run` starts it (`edge documents-worker`) and restarts it when it exits. It
lowers its own priority (nice 10) so the ingest path keeps its core, runs
onnxruntime on the configured threads, and loads the OCR model only once there
is work. Each round it first builds the image-only PDFs of items that became
complete (a few hundred ms an item: available at once), then reads one page of
the most urgent queued document (urgent first, then the earliest deadline), so
a new urgent item or a rebuild waits at most one page. When every page of a
document is read, the searchable PDF replaces the image-only one; filing
notices follow for closed items.

Blobs: a document's blob is written before its row commits, so the worker only
runs once `edge run`'s start-up recovery has swept orphan blobs (never beside
`edge ingest --once`, whose sweep could take a blob whose row is a moment away);
it stops when its parent does, and one worker per home holds a lock.

Memory: onnxruntime can grow over a long life (RapidOCR #187), so the worker
exits after `max_pages` pages or above `max_rss_mb` and `edge run` starts a new
one; recognised pages are cached in memory only (OCR text is as confidential as
the page: it rests on disk only inside the encrypted PDF).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import psutil

from juanzong.edge.blobstore import BlobStore
from juanzong.edge.config import EdgeSettings
from juanzong.edge.devices.profiles import get_scanner
from juanzong.edge.documents import builder
from juanzong.edge.documents.assemble import SourcePage
from juanzong.edge.documents.builder import DocumentContext
from juanzong.edge.documents.ocr import TUNED, OcrEngine, OcrSettings
from juanzong.edge.documents.textlayer import PageText
from juanzong.edge.keys import load_keys
from juanzong.edge.repo import connect, migrate, write_tx
from juanzong.edge.repo import documents as store
from juanzong.shared import clock
from juanzong.shared.errors import AppError, ErrorCode

log = logging.getLogger("juanzong.ocr.worker")
NICE = 10
RECYCLE_EXIT = 75  # "start me again": memory or page budget reached
RETRY_SECONDS = (30, 120, 600)


@dataclass
class WorkerLimits:
    max_pages: int = 2000
    max_rss_mb: int = 1100
    idle_poll_seconds: float = 1.0
    cache_pages: int = 500


@dataclass
class Progress:
    """The document being read: its pages, what has been read so far."""

    document: store.DocumentRow
    sources: list[SourcePage]
    texts: dict[str, PageText] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return len(self.texts) == len(self.sources)


class OcrWorker:
    def __init__(
        self, ctx: DocumentContext, ocr_settings: OcrSettings = TUNED, limits: WorkerLimits | None = None, engine_factory=OcrEngine
    ) -> None:
        self.ctx = ctx
        self.limits = limits or WorkerLimits()
        self.ocr_settings = ocr_settings
        self.engine_factory = engine_factory
        self.engine: OcrEngine | None = None
        self.cache: OrderedDict[tuple[str, int], PageText] = OrderedDict()
        self.current: Progress | None = None
        self.pages_read = 0

    # --- one round ----------------------------------------------------------------------------
    def round(self) -> bool:
        """Builds due documents, reads one page; False when there was nothing to do."""
        built = builder.build_due(self.ctx)
        builder.file_notices(self.ctx)
        progress = self._progress() if self.ocr_settings.threads else None
        if progress is None:
            return bool(built)
        try:
            self._read_one(progress)
            if progress.done:
                self._finish(progress)
        except AppError as err:
            self._failed(progress, err)
        except Exception as exc:  # a bug or a broken page must not stop every other item: retried later
            log.exception("OCR of %s failed", progress.document.document_id)
            self._failed(progress, AppError(ErrorCode.OCR_FAILED, item_id=progress.document.item_id, detail=repr(exc)[:200]))
        return True

    def _progress(self) -> Progress | None:
        job = store.next_job(self.ctx.db, store.utc_iso())
        if job is None:
            self.current = None
            return None
        if self.current is None or self.current.document.document_id != job.document_id:
            doc = store.document(self.ctx.db, job.document_id)
            if doc is None:
                with write_tx(self.ctx.db):
                    store.dequeue(self.ctx.db, job.document_id)
                return None
            self.current = Progress(doc, self._sources(doc))
        return self.current

    def _sources(self, doc: store.DocumentRow) -> list[SourcePage]:
        rows = {p.page_id: p for p in store.item_pages(self.ctx.db, doc.item_id)}
        missing = [pid for pid in doc.page_ids if pid not in rows]
        if missing:  # the item changed after this version was built: a rebuild is on its way
            raise AppError(ErrorCode.OCR_FAILED, item_id=doc.item_id, detail=f"页面 {missing[0]} 已不属于该版本")
        return builder.masters(self.ctx, [rows[pid] for pid in doc.page_ids])

    def _read_one(self, progress: Progress) -> None:
        page = next(p for p in progress.sources if p.page_id not in progress.texts)
        key = (page.page_id, page.rotation)
        if key not in self.cache:
            if self.engine is None:
                self.engine = self.engine_factory(self.ocr_settings)
            self.cache[key] = self.engine.read_bytes(page.data, page.rotation)
            self.pages_read += 1
            while len(self.cache) > self.limits.cache_pages:
                self.cache.popitem(last=False)
        progress.texts[page.page_id] = self.cache[key]

    def _finish(self, progress: Progress) -> None:
        doc = builder.build_searchable(self.ctx, progress.document, progress.texts, progress.sources)
        if doc is not None:
            log.info("document %s for %s is searchable (%d pages)", doc.document_id, doc.item_id, len(doc.page_ids))
        self.current = None

    def _failed(self, progress: Progress, err: AppError) -> None:
        log.error("OCR of %s failed: %s %s", progress.document.document_id, err.code, err.message)
        attempts = store.job_attempts(self.ctx.db, progress.document.document_id)
        wait = RETRY_SECONDS[min(attempts, len(RETRY_SECONDS) - 1)]
        retry_at = store.utc_iso(clock.now() + timedelta(seconds=wait))
        with write_tx(self.ctx.db):
            store.job_failed(self.ctx.db, progress.document.document_id, err.message, retry_at)
        self.current = None

    # --- the loop -----------------------------------------------------------------------------
    def should_recycle(self) -> bool:
        rss_mb = psutil.Process().memory_info().rss / 2**20
        return self.pages_read >= self.limits.max_pages or rss_mb > self.limits.max_rss_mb

    def run(self, stop: threading.Event, parent: int | None = None) -> int:
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:
                log.warning("edge run is gone: the documents worker stops too")
                return 0
            try:
                busy = self.round()
            except AppError as err:
                if err.code in (ErrorCode.OCR_MODEL_MISSING, ErrorCode.OCR_MODEL_INVALID, ErrorCode.OCR_ENGINE_MISSING):
                    raise  # loud: edge run logs it and keeps the image-only PDFs
                log.warning("documents: %s %s", err.code, err.message)
                busy = False
            if self.should_recycle():
                log.info("OCR worker recycles after %d pages", self.pages_read)
                return RECYCLE_EXIT
            if not busy:
                stop.wait(self.limits.idle_poll_seconds)
        return 0


def lower_priority() -> int:
    current = os.nice(0)
    return os.nice(NICE - current) if current < NICE else current


def context_for(settings: EdgeSettings) -> DocumentContext:
    migrate(settings)
    return DocumentContext(
        connect(settings),
        BlobStore(settings.blob_dir),
        load_keys(settings.keys_dir),
        settings.appliance_id,
        get_scanner(settings.scanner_profile).document_idle_seconds,
        settings.crypto_suite,
    )


PARENT_ENV = "JUANZONG_EDGE_RUN_PID"  # set by `edge run` for the worker it starts


def lock_path(settings: EdgeSettings) -> Path:
    return settings.data_dir / "documents-worker.lock"


def single_worker(settings: EdgeSettings):
    """One documents worker per home (a worker left by a killed `edge run` blocks a second one)."""
    import fcntl

    handle = open(lock_path(settings), "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise AppError(ErrorCode.APPLIANCE_RUNNING, lock=str(lock_path(settings))) from exc
    return handle


@contextmanager
def no_worker_running(settings: EdgeSettings, wait_seconds: float = 30.0) -> Iterator[bool]:
    """Hold the workers' lock while start-up recovery sweeps the blob directory.

    A worker writes a document's blob before its row commits; a sweep beside a live
    worker would take that blob and leave a row without its file. Yields False when a
    worker still holds the lock after `wait_seconds` (the sweep then waits for the next start)."""
    import fcntl

    with open(lock_path(settings), "a") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.2)
        yield True  # closing the handle releases the lock for the worker `edge run` starts next


def started_by() -> int | None:
    """The pid of the `edge run` that started this worker (its Popen binds us to it, see
    shared.children), or None when run by hand."""
    raw = os.environ.get(PARENT_ENV)
    return int(raw) if raw and raw.isdigit() else None


def main(settings: EdgeSettings, stop: threading.Event | None = None) -> int:
    """`edge documents-worker`: the process `edge run` supervises; it stops when its parent does."""
    parent = started_by()
    lock = single_worker(settings)  # noqa: F841 - held for the process's life
    lower_priority()
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = OcrWorker(context_for(settings), replace(TUNED, threads=settings.ocr_threads))
    log.info("documents worker for %s (nice %d)", settings.appliance_id, os.nice(0))
    return worker.run(stop, parent=parent)
