"""The scanner's hot folder: watch, settle, claim, release.

`HotFolder` owns the folder's rules: which names are candidates (the profile's
types; never hidden, temporary or partial files), claiming (an atomic rename
into `.juanzong-spool/` inside the hot folder — same filesystem, same tmpfs —
so a file is either still where the scanner left it or in the spool, never
half-moved) and release (the spool copy is removed only after its page is
durable). `FolderWatcher` is the thin watchdog adapter: inotify by default,
the polling observer where the profile says the folder is a network share
(inotify does not see remote writes). Events only feed the tracker; a rescan
at start-up and every `rescan_seconds` catches whatever an event missed.

A file is taken once it is settled (tracker) and parses to its end
(`looks_complete`). One that settles but stays incomplete for the profile's
grace period (a scanner that died mid-write) is taken anyway, so decode
quarantines it and the files behind it are not held up. So is a stray — a file
of a type the profile does not accept, or one left under a temporary name
(`.tmp`, `.part`) — once it has stayed unchanged for the grace period: nothing
waits in the hot folder forever. Hidden dot-files (our own temporary files, a
desktop's metadata) are never taken. Nothing one file or one flaky share does
— a permission error, a vanished folder, an observer that cannot start — stops
the watcher: it logs, and the next rescan tries again.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from juanzong.edge.crashpoints import crash_point
from juanzong.edge.devices.profiles import ScannerProfile
from juanzong.edge.ingest.context import Claimed
from juanzong.edge.watch.complete import looks_complete
from juanzong.edge.watch.layout import OVERSIZE_DIR, SPOOL, byte_cap
from juanzong.edge.watch.tracker import StabilityTracker, natural_key
from juanzong.shared.durable import fsync_dir

log = logging.getLogger("juanzong.watch")
CLAIM_SEP = "__"
# Events that mean "the content may have changed". Opened and ClosedNoWrite are
# left out: our own completeness check reads the file, and a reader (an
# antivirus, a backup) must not keep restarting the settle timer.
CHANGE_EVENTS = {EVENT_TYPE_CREATED, EVENT_TYPE_MODIFIED, EVENT_TYPE_CLOSED, EVENT_TYPE_MOVED}


class HotFolder:
    def __init__(self, path: Path, profile: ScannerProfile) -> None:
        self.path = path
        self.spool = path / SPOOL
        self.profile = profile
        self.byte_cap = byte_cap(profile.max_pixels)
        self._last_ns = 0
        path.mkdir(parents=True, exist_ok=True)
        self.spool.mkdir(exist_ok=True)

    def accepts(self, path: Path) -> bool:
        name = path.name
        return path.parent == self.path and not name.startswith(".") and self.profile.accepts(name)

    def is_stray(self, path: Path) -> bool:
        """Not hidden, but not a file this scanner writes (another type, a temporary name)."""
        return path.parent == self.path and not path.name.startswith(".") and not self.profile.accepts(path.name)

    def strays(self) -> list[Path]:
        try:
            return sorted((p for p in self.path.iterdir() if self.is_stray(p) and p.is_file()), key=natural_key)
        except OSError:
            return []

    def candidates(self) -> list[Path]:
        """Files to take, in scanner order; [] while the folder cannot be listed (a share that dropped)."""
        try:
            files = [p for p in self.path.iterdir() if self.accepts(p) and p.is_file()]
        except OSError as exc:
            log.warning("hot folder %s cannot be listed (%s); retrying at the next rescan", self.path, exc)
            return []
        return sorted(files, key=natural_key)

    def is_complete(self, path: Path) -> bool:
        try:
            return looks_complete(path, self.byte_cap)
        except OSError:  # vanished or unreadable right now: not complete
            return False

    def claim(self, path: Path) -> Claimed | None:
        """Move into the spool under an ordered, unique name; None if the file vanished
        or cannot be moved now (it stays where the scanner left it, for the next try)."""
        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        claim = f"{self._last_ns:020d}-{secrets.token_hex(3)}{CLAIM_SEP}{path.name}"
        target = self.spool / claim
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot claim %s (%s); left in place", path.name, exc)
            return None
        fsync_dir(self.spool)
        return Claimed(claim=claim, path=target, source_name=path.name)

    def spooled(self) -> list[Claimed]:
        """Files claimed before a crash or restart, in claim order."""
        out = []
        for p in sorted(self.spool.iterdir()):
            if p.is_file() and CLAIM_SEP in p.name:
                out.append(Claimed(claim=p.name, path=p, source_name=p.name.split(CLAIM_SEP, 1)[1]))
        return out

    def release(self, claimed: Claimed) -> None:
        crash_point("remove_source")
        claimed.path.unlink(missing_ok=True)
        fsync_dir(self.spool)

    def set_aside(self, claimed: Claimed) -> Path:
        """Keep a file too big to read (or encrypt) out of the spool, unread, for an operator.

        It stays on the hot folder's own filesystem (plaintext goes nowhere it
        was not already) under a dot-directory no scan lists; the quarantine row
        names it by claim.
        """
        aside = self.path / OVERSIZE_DIR
        aside.mkdir(exist_ok=True)
        target = aside / claimed.claim
        if claimed.path.exists():
            os.rename(claimed.path, target)
            fsync_dir(aside)
            fsync_dir(self.spool)
        return target


class _Handler(FileSystemEventHandler):
    def __init__(self, folder: HotFolder, tracker: StabilityTracker, lock: threading.Lock) -> None:
        self.folder, self.tracker, self.lock = folder, tracker, lock
        self.strays: set[Path] = set()  # strays seen by events since the watcher last looked

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._feed(event)
        except Exception:  # an exception here would end the observer thread for good
            log.exception("watch event %s for %s not handled", event.event_type, event.src_path)

    def _feed(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in CHANGE_EVENTS | {EVENT_TYPE_DELETED}:
            return
        # A rename into the folder from the same filesystem produces only Created,
        # an in-folder rename Moved (dest_path); cp and slow writes end with Closed.
        target = event.dest_path if event.event_type == EVENT_TYPE_MOVED else event.src_path
        path = Path(os.fsdecode(target))
        if self.folder.is_stray(path) and event.event_type != EVENT_TYPE_DELETED:
            with self.lock:
                self.strays.add(path)
            return
        if not self.folder.accepts(path):
            return
        with self.lock:
            if event.event_type == EVENT_TYPE_DELETED:
                self.tracker.forget(path)
            else:
                self.tracker.touch(path)


class FolderWatcher:
    def __init__(
        self,
        folder: HotFolder,
        settle_seconds: float,
        rescan_seconds: float,
        incomplete_grace: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.clock = clock  # settling, grace and rescans are counted on it (a test passes its own)
        self.tracker = StabilityTracker(settle_seconds, clock=clock)
        self.rescan_seconds = rescan_seconds
        self.incomplete_grace = folder.profile.grace_seconds if incomplete_grace is None else incomplete_grace
        self._last_rescan = 0.0
        # path → (size, mtime_ns, clock when it was first seen settled but incomplete in that state)
        self._incomplete: dict[Path, tuple[int, int, float]] = {}
        self._strays: dict[Path, tuple[int, int, float]] = {}  # the same, for strays
        self._handler = _Handler(folder, self.tracker, self.lock)
        self.observer = self._observer(folder.profile.poll)

    def _observer(self, poll: bool) -> BaseObserver:
        profile = self.folder.profile
        observer = PollingObserver(timeout=profile.poll_interval_seconds) if poll else Observer()
        observer.schedule(self._handler, str(self.folder.path), recursive=False)
        return observer

    @property
    def polling(self) -> bool:
        return isinstance(self.observer, PollingObserver)

    def start(self) -> None:
        """Start watching, then scan: files dropped while nothing watched are found now."""
        try:
            self.observer.start()
        except OSError as exc:  # inotify watch/instance limits: polling still works
            log.warning("inotify unavailable for %s (%s); polling instead", self.folder.path, exc)
            self.observer = self._observer(poll=True)
            self.observer.start()
        self.rescan()

    def stop(self) -> None:
        self.observer.stop()
        if self.observer.is_alive():
            self.observer.join(timeout=5)

    def rescan(self) -> None:
        self._last_rescan = self.clock()
        candidates = self.folder.candidates()
        with self.lock:
            for path in candidates:
                if path not in self.tracker:
                    self.tracker.touch(path)
        strays = self.folder.strays()
        for path in set(self._strays) - set(strays):
            del self._strays[path]
        for path in strays:
            self._unchanged_since(self._strays, path)

    def _stale_strays(self, grace: float) -> list[Path]:
        """Strays unchanged for the grace period: taken so decode quarantines them with their reason."""
        with self.lock:
            seen, self._handler.strays = self._handler.strays, set()
        for path in seen:
            self._unchanged_since(self._strays, path)
        now, out = self.clock(), []
        for path in list(self._strays):
            since = self._unchanged_since(self._strays, path)
            if since is not None and now - since >= grace:
                log.warning("%s is not a file this scanner profile takes; quarantining it after %.1f s", path.name, grace)
                del self._strays[path]
                out.append(path)
        return out

    def _unchanged_since(self, table: dict[Path, tuple[int, int, float]], path: Path) -> float | None:
        """When `path` last changed (as far as this watcher saw); None once it is gone."""
        try:
            st = path.stat()
        except OSError:
            table.pop(path, None)
            return None
        now, state = self.clock(), (st.st_size, st.st_mtime_ns)
        size, mtime, since = table.get(path, (*state, now))
        if (size, mtime) != state:
            since = now
        table[path] = (*state, since)
        return since

    def take_ready(self, incomplete_grace: float | None = None) -> list[Path]:
        """Settled and complete files, in scanner order. A file that stays settled
        but incomplete past the grace period is taken anyway: decode quarantines it."""
        grace = self.incomplete_grace if incomplete_grace is None else incomplete_grace
        if self.clock() - self._last_rescan >= self.rescan_seconds:
            self.rescan()
        with self.lock:
            ready = self.tracker.ready()
        out = [path for path in ready if self._complete_or_given_up(path, grace)]
        for path in set(self._incomplete) - set(ready):
            if not path.exists():
                del self._incomplete[path]
        return out + self._stale_strays(grace)

    def _complete_or_given_up(self, path: Path, grace: float) -> bool:
        if self.folder.is_complete(path):
            self._incomplete.pop(path, None)
            return True
        try:
            st = path.stat()
        except OSError:
            self._incomplete.pop(path, None)
            return False
        now, state = self.clock(), (st.st_size, st.st_mtime_ns)
        size, mtime, since = self._incomplete.get(path, (*state, now))
        if (size, mtime) != state:  # it grew since we last looked: the grace starts again
            since = now
        if now - since >= grace:
            log.warning("%s still incomplete after %.1f s unchanged; taking it to quarantine", path.name, grace)
            self._incomplete.pop(path, None)
            return True
        self._incomplete[path] = (*state, since)
        with self.lock:
            self.tracker.touch(path)
        return False
