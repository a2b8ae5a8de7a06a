"""The ingest worker: takes every scanner file exactly once, never loses one.

Order of work for one file: claim (rename into the spool) → decode → page
stages → record (durable blobs, one transaction) → release (remove the spool
copy). At start-up `recover()` first sweeps temp and orphan blobs, then
finishes whatever the spool holds, in claim order — a file whose rows were
committed before a crash is only released, never stored twice.

Bad files never stop the worker: a file-level error quarantines the file
(encrypted, with its reason); a storage error (disk full, I/O error) leaves it
in the spool to be retried, because nothing was stored.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from juanzong.edge import audit, filelog, repo
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.config import EdgeSettings
from juanzong.edge.devices.profiles import get_scanner
from juanzong.edge.hostcheck import require_no_swap, require_ram_hot_folder
from juanzong.edge.ingest.context import Claimed, IngestContext, ItemInfo, QcRules, ReplaceTarget, Sides
from juanzong.edge.ingest.decode import decode, sha256_file
from juanzong.edge.ingest.faults import FILE_FAULTS
from juanzong.edge.ingest.pipeline import ingest_pages
from juanzong.edge.ingest.record import commit, replace_plan
from juanzong.edge.keys import load_keys
from juanzong.edge.repo import blobs, items, pages, state, write_tx
from juanzong.edge.repo import quarantine as shelf
from juanzong.edge.repo.quarantine import QuarantineRow
from juanzong.edge.repo.state import StateKey
from juanzong.edge.watch.watcher import FolderWatcher, HotFolder
from juanzong.shared import clock
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.crypto import seal_blob
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id

log = logging.getLogger("juanzong.appliance")

# A file-level fault (edge.ingest.faults.FILE_FAULTS): the file itself is bad,
# quarantine it. Any other AppError (storage, keys) means "not stored yet, try again later".


class DbRoutingView:
    """What routing reads from the database: through one connection, or through a
    function giving the calling thread's own (`PerThread.get`)."""

    def __init__(self, db: Database | Callable[[], Database]) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        return self._db if isinstance(self._db, Database) else self._db()

    def item(self, item_id: str) -> ItemInfo | None:
        found = items.routing_info(self.db, item_id)
        return ItemInfo(*found) if found else None

    def active_item(self) -> str | None:
        return state.get(self.db, StateKey.ACTIVE_ITEM)

    def sides(self, item_id: str) -> Sides:
        # every image of the item since its latest cover sheet, cover included; a
        # replacement rescan is an extra image that takes another page's side
        return Sides(*pages.images_since_cover(self.db, item_id))

    def replace_targets(self) -> list[ReplaceTarget]:
        """The images the next scanned ones take over, in order (a duplex sheet: front, back)."""
        out = []
        for page_id in replace_plan(self.db):
            found = pages.replaceable(self.db, page_id)
            if found is None:
                break
            out.append(ReplaceTarget(page_id, found[0], found[1]))
        return out

    def phashes(self, item_id: str) -> dict[str, str]:
        return pages.phashes(self.db, item_id)


@dataclass(frozen=True)
class FileOutcome:
    source_name: str
    status: str  # "stored" | "quarantined" | "replayed" | "retry"
    pages: int = 0
    code: str = ""
    reason: str = ""  # the Chinese reason of a quarantine or a retry


DRAIN_MARGIN_SECONDS = 1.0


class Drain(list):
    """What `ingest --once` did (the outcomes, in order) and what it could not finish."""

    def __init__(self, outcomes: list[FileOutcome], unfinished: tuple[str, ...]) -> None:
        super().__init__(outcomes)
        self.unfinished = unfinished


class Appliance:
    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.profile = get_scanner(settings.scanner_profile)
        require_ram_hot_folder(settings.hot_folder, self.profile.tmpfs_required)
        require_no_swap(self.profile.tmpfs_required)
        repo.migrate(settings)
        self.connections = repo.PerThread(settings)  # built here, often driven from another thread
        self.store = BlobStore(settings.blob_dir)
        self.folder = HotFolder(settings.hot_folder, self.profile)
        self.ctx = IngestContext(
            appliance_id=settings.appliance_id,
            profile=self.profile,
            keys=load_keys(settings.keys_dir),
            qc_rules=QcRules(min_dpi=self.profile.dpi),
            max_pixels=self.profile.max_pixels,
            view=DbRoutingView(self.connections.get),
            suite=settings.crypto_suite,
        )

    @property
    def db(self) -> Database:
        return self.connections.get()

    # --- start-up -------------------------------------------------------------------------
    def recover(self) -> list[FileOutcome]:
        if not repo.quick_check(self.db):
            # keep going: stopping would leave the scanner with nowhere to put pages;
            # the operator sees this in the log and the archive office in the audit
            log.error("database quick_check failed: %s", self.settings.db_path)
            audit.record(
                self.db,
                place=self.ctx.appliance_id,
                actor="system",
                action=Action.INTEGRITY_CHECK,
                target="edge.db",
                outcome=Outcome.FAILED,
            )
        self.sweep_blobs()
        return [self.process(c) for c in self.folder.spooled()]

    def sweep_blobs(self) -> None:
        from juanzong.edge.documents.worker import no_worker_running

        with no_worker_running(self.settings) as quiet:
            if not quiet:
                log.warning("recovery: a documents worker still runs; orphan blobs wait for the next start")
                return
            temps, orphans = self.store.sweep(blobs.ids(self.db))
        if temps or orphans:
            log.info("recovery: removed %d temp and %d orphan blobs", temps, orphans)

    # --- one file -------------------------------------------------------------------------
    def take(self, path) -> FileOutcome | None:
        claimed = self.folder.claim(path)
        return self.process(claimed) if claimed else None

    def process(self, claimed: Claimed) -> FileOutcome:
        if pages.already_recorded(self.db, claimed.claim) or self._kept_encrypted(claimed.claim):
            self.folder.release(claimed)
            return FileOutcome(claimed.source_name, "replayed")
        try:
            stored = commit(self.db, self.store, ingest_pages(decode(claimed, self.ctx), self.ctx), self.ctx)
        except AppError as err:
            if err.code not in FILE_FAULTS:
                log.warning("not stored, will retry: %s code=%s", claimed.source_name, err.code)
                return FileOutcome(claimed.source_name, "retry", code=str(err.code), reason=err.message)
            return self.quarantine(claimed, err)
        except Exception:  # a bug must not stop the scanner: keep the file, encrypted
            ref = secrets.token_hex(4)  # the traceback is in the log under this reference, not on the screen
            log.exception("ingest failed for %s (ref %s)", claimed.source_name, ref)
            return self.quarantine(claimed, AppError(ErrorCode.INGEST_FAILED, name=claimed.source_name, detail=f"日志编号 {ref}"))
        self.folder.release(claimed)
        log.info(filelog.stored(self.db, claimed.source_name, [p.page_id for p in stored]))
        return FileOutcome(claimed.source_name, "stored", pages=len(stored))

    def _kept_encrypted(self, claim: str) -> bool:
        """Quarantined with its encrypted copy before a crash came ahead of the release:
        only the release is left (a second INSERT would violate UNIQUE(claim) and stop
        recovery for good). A file set aside unread has no copy: set_aside replays itself."""
        return shelf.kept_encrypted(self.db, claim)

    def quarantine(self, claimed: Claimed, err: AppError) -> FileOutcome:
        if err.code == ErrorCode.FILE_SIZE_TOO_LARGE:
            return self.set_aside(claimed, err)
        raw = claimed.path.read_bytes()
        qid = new_id(Kind.QUARANTINE)
        sealed = seal_blob(
            raw,
            appliance_id=self.ctx.appliance_id,
            blob_id=qid,
            kind="quarantine",
            kek=self.ctx.keys.kek,
            central_public=self.ctx.keys.central.hpke_public,
            suite=self.ctx.suite,
        )
        self.store.put(qid, sealed.data)
        now = clock.iso()
        with write_tx(self.db):
            blobs.insert(self.db, sealed, now)
            shelf.insert(
                self.db,
                QuarantineRow(qid, claimed.claim, claimed.source_name, sealed.plain_sha256, len(raw), str(err.code), err.message, qid),
                now,
            )
            audit.record(
                self.db,
                place=self.ctx.appliance_id,
                actor="scanner",
                action=Action.QUARANTINE,
                target=claimed.source_name,
                outcome=Outcome.REFUSED,
                code=str(err.code),
            )
        log.warning("%s code=%s", filelog.quarantined(claimed.source_name, err.message), err.code)
        self.folder.release(claimed)
        return FileOutcome(claimed.source_name, "quarantined", code=str(err.code), reason=err.message)

    def set_aside(self, claimed: Claimed, err: AppError) -> FileOutcome:
        """Too big to read into memory (or to encrypt in one piece): recorded by its
        streamed hash and size, and kept unread beside the spool for an operator.
        Idempotent: after a crash between the commit and the move, a replay only moves."""
        digest, size = sha256_file(claimed.path), claimed.path.stat().st_size
        now = clock.iso()
        with write_tx(self.db):
            if not shelf.has_claim(self.db, claimed.claim):
                shelf.insert(
                    self.db,
                    QuarantineRow(
                        new_id(Kind.QUARANTINE), claimed.claim, claimed.source_name, digest, size, str(err.code), err.message, None
                    ),
                    now,
                )
                audit.record(
                    self.db,
                    place=self.ctx.appliance_id,
                    actor="scanner",
                    action=Action.QUARANTINE,
                    target=claimed.source_name,
                    outcome=Outcome.REFUSED,
                    code=str(err.code),
                )
        kept = self.folder.set_aside(claimed)
        log.warning("%s（未读取，%d 字节，放在 %s）code=%s", filelog.quarantined(claimed.source_name, err.message), size, kept, err.code)
        return FileOutcome(claimed.source_name, "quarantined", code=str(err.code), reason=err.message)

    # --- loops ----------------------------------------------------------------------------
    def ingest_once(self, settle: float | None = None) -> Drain:
        """Drain the hot folder (`edge ingest --once`): every file present at the start is
        stored or quarantined; a file still settling is waited for, at most its settle
        delay plus the profile's grace period (then taken to quarantine). Whatever could
        not be finished — still being written, not claimable, a storage fault — is listed."""
        outcomes = self.recover()
        settle = self.profile.settle_seconds if settle is None else settle
        watcher = FolderWatcher(self.folder, settle, 0.0)
        watcher.rescan()
        present = set(self.folder.candidates()) | set(self.folder.strays())
        deadline = time.monotonic() + settle + watcher.incomplete_grace + DRAIN_MARGIN_SECONDS
        while any(p.exists() for p in present) and time.monotonic() < deadline:
            for path in watcher.take_ready():
                if (o := self.take(path)) is not None:
                    outcomes.append(o)
            time.sleep(min(0.05, max(settle / 4, 0.01)))
        left = sorted(p.name for p in present if p.exists())
        retry = [o.source_name for o in outcomes if o.status == "retry"]
        return Drain(outcomes, tuple(left + retry))

    def run_watch(self, stop: threading.Event, on_idle=None) -> None:
        """Watch until `stop` is set; `on_idle` runs whenever no file is ready."""
        self.recover()
        watcher = FolderWatcher(self.folder, self.profile.settle_seconds, self.settings.rescan_seconds)
        watcher.start()
        last_retry = time.monotonic()
        try:
            while not stop.is_set():
                ready = watcher.take_ready()
                for path in ready:
                    self.take(path)
                if time.monotonic() - last_retry >= self.settings.rescan_seconds:
                    last_retry = time.monotonic()
                    for claimed in self.folder.spooled():  # left there by a storage fault
                        self.process(claimed)
                if not ready:
                    if on_idle:
                        on_idle()
                    stop.wait(0.05)
        finally:
            watcher.stop()
