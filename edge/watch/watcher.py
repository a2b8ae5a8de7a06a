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
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from edge.blobstore import fsync_dir
from edge.crashpoints import crash_point
from edge.ingest.context import Claimed
from edge.ingest.decode import looks_complete
from edge.watch.tracker import StabilityTracker, natural_key
from shared.profiles import ScannerProfile

log = logging.getLogger("juanzong.watch")
SPOOL = ".juanzong-spool"
CLAIM_SEP = "__"


class HotFolder:
    def __init__(self, path: Path, profile: ScannerProfile) -> None:
        self.path = path
        self.spool = path / SPOOL
        self.profile = profile
        self._last_ns = 0
        path.mkdir(parents=True, exist_ok=True)
        self.spool.mkdir(exist_ok=True)

    def accepts(self, path: Path) -> bool:
        name = path.name
        return path.parent == self.path and not name.startswith(".") and self.profile.accepts(name)

    def candidates(self) -> list[Path]:
        files = [p for p in self.path.iterdir() if p.is_file() and self.accepts(p)]
        return sorted(files, key=natural_key)

    def is_complete(self, path: Path) -> bool:
        try:
            return looks_complete(path.read_bytes())
        except FileNotFoundError:
            return False

    def claim(self, path: Path) -> Claimed | None:
        """Move into the spool under an ordered, unique name; None if the file vanished."""
        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        claim = f"{self._last_ns:020d}-{secrets.token_hex(3)}{CLAIM_SEP}{path.name}"
        target = self.spool / claim
        try:
            os.rename(path, target)
        except FileNotFoundError:
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


class _Handler(FileSystemEventHandler):
    def __init__(self, folder: HotFolder, tracker: StabilityTracker, lock: threading.Lock) -> None:
        self.folder, self.tracker, self.lock = folder, tracker, lock

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        # Created, Modified, Closed, and Moved(dest): a rename into the folder
        # from the same filesystem produces only Created, an in-folder rename Moved.
        target = getattr(event, "dest_path", "") or event.src_path
        path = Path(os.fsdecode(target))
        if self.folder.accepts(path):
            with self.lock:
                self.tracker.touch(path)


class FolderWatcher:
    def __init__(self, folder: HotFolder, settle_seconds: float, rescan_seconds: float) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.tracker = StabilityTracker(settle_seconds)
        self.rescan_seconds = rescan_seconds
        self._last_rescan = 0.0
        self._first_seen: dict[Path, float] = {}
        profile = folder.profile
        self.observer = PollingObserver(timeout=profile.poll_interval_seconds) if profile.poll else Observer()
        self.observer.schedule(_Handler(folder, self.tracker, self.lock), str(folder.path), recursive=False)

    def start(self) -> None:
        self.observer.start()
        self.rescan()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)

    def rescan(self) -> None:
        self._last_rescan = time.monotonic()
        with self.lock:
            for path in self.folder.candidates():
                if path not in self.tracker:
                    self.tracker.touch(path)

    def take_ready(self, incomplete_grace: float = 60.0) -> list[Path]:
        """Settled and complete files, in scanner order. A file that stays
        incomplete past the grace period is taken anyway: decode quarantines it."""
        if time.monotonic() - self._last_rescan >= self.rescan_seconds:
            self.rescan()
        with self.lock:
            ready = self.tracker.ready()
        out = []
        for path in ready:
            first = self._first_seen.setdefault(path, time.monotonic())
            if self.folder.is_complete(path) or time.monotonic() - first > incomplete_grace:
                self._first_seen.pop(path, None)
                out.append(path)
            elif path.exists():
                with self.lock:
                    self.tracker.touch(path)
        return out
