"""The hot-folder watcher with the real watchdog observers and the real appliance.

Every test runs `Appliance.run_watch` in a thread on a real home (keys, SQLite,
hot folder under tmp_path) and drops files the ways scanners and people do:
slow chunked writes, `cp`, a rename from another folder, an in-folder temp
file renamed into place, files dropped while nothing was watching, a network
share seen only by polling. The simulated profile settles after 0.2 s, so the
incomplete-file grace is 2 s (10 × settle).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import img2pdf
import numpy as np
import pytest
from edge_kit import make_home
from PIL import Image

from juanzong.edge.appliance import Appliance
from juanzong.edge.config import load_settings
from juanzong.edge.devices.profiles import get_scanner
from juanzong.edge.repo import connect
from juanzong.edge.tooling.pages import jpeg_bytes
from juanzong.edge.tooling.scanner import SimulatedScanner
from juanzong.edge.watch import watcher as watch_mod
from juanzong.edge.watch.watcher import FolderWatcher, HotFolder
from juanzong.shared.crypto import sha256_hex

REPO_PROFILES = Path(__file__).resolve().parents[2] / "firmware_profiles"
DEADLINE = 15.0


def page_image(seed: int, size=(900, 1270)) -> Image.Image:
    """A small noisy page, a pure function of its seed: quick to ingest, big enough (~0.5 MB) to chunk."""
    noise = np.random.default_rng(seed).integers(0, 60, size=(size[1], size[0]), dtype=np.uint8)
    grey = Image.fromarray(255 - noise, mode="L")
    img = Image.merge("RGB", (grey, grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    img.info["dpi"] = (300, 300)
    return img


def page_jpeg(seed: int) -> bytes:
    return jpeg_bytes(page_image(seed))


def wait_for(check: Callable[[], bool], timeout: float = DEADLINE) -> float:
    """Seconds until `check()` held; fails the test at the deadline."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


@contextmanager
def watching(settings) -> Iterator[Appliance]:
    """run_watch in a thread; yields once the loop is idle (observer started, start-up scan done)."""
    app, stop, idle, errors = Appliance(settings), threading.Event(), threading.Event(), []

    def run() -> None:
        try:
            app.run_watch(stop, on_idle=idle.set)
        except BaseException as exc:  # surfaced below: the watcher must never die
            errors.append(exc)

    thread = threading.Thread(target=run, name="run_watch", daemon=True)
    thread.start()
    try:
        assert idle.wait(DEADLINE), "watch loop never became idle"
        yield app
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive(), "run_watch did not stop"
    assert errors == []


class Rows:
    """What the appliance recorded, read through its own connection."""

    def __init__(self, db_path: Path) -> None:
        self.db = connect(db_path)

    def stored(self) -> list[tuple[str, str]]:
        sql = "SELECT source_name, source_sha256 FROM pages ORDER BY claim"
        return [tuple(r) for r in self.db.execute(sql).fetchall()]

    def names(self) -> list[str]:
        return [name for name, _ in self.stored()]

    def quarantined(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.db.execute("SELECT source_name, code FROM quarantine ORDER BY created_at").fetchall()]


@pytest.fixture
def rows(settings) -> Iterator[Rows]:
    r = Rows(settings.db_path)
    yield r
    r.db.close()


def hot_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


# ---------------------------------------------------------------- inotify: how files arrive


def test_slow_chunked_write_is_taken_only_once_complete(settings, rows):
    # chunks 0.35 s apart > the 0.2 s settle delay: size and mtime stand still between
    # chunks, so only the parse check (no JPEG end marker yet) keeps the file waiting
    img = page_image(1)
    full = len(jpeg_bytes(img))
    scanner = SimulatedScanner(settings.hot_folder, chunk_bytes=full // 5 + 1, chunk_delay=0.35)
    path, done = settings.hot_folder / "scan_0001.jpg", threading.Event()
    with watching(settings):
        writer = threading.Thread(target=lambda: (scanner.write(img, slow=True), done.set()))
        writer.start()
        partial_seen = 0
        while not done.is_set():
            size = path.stat().st_size if path.exists() else full
            if size < full:
                partial_seen += 1
                assert rows.stored() == [], f"taken at {size} of {full} bytes"
            time.sleep(0.02)
        writer.join()
        assert partial_seen > 20  # the watcher had every chance to take it early
        wait_for(lambda: len(rows.stored()) == 1)
    assert rows.stored() == [("scan_0001.jpg", sha256_hex(jpeg_bytes(img)))]
    assert rows.quarantined() == []
    assert hot_files(settings.hot_folder) == []


def _rename_in(settings, tmp_path: Path, data: bytes) -> None:
    outside = tmp_path / "outside"  # same filesystem, not watched: only a Created event
    outside.mkdir(exist_ok=True)
    (outside / "scan_0001.jpg").write_bytes(data)
    os.rename(outside / "scan_0001.jpg", settings.hot_folder / "scan_0001.jpg")


def _cp(settings, tmp_path: Path, data: bytes) -> None:
    src = tmp_path / "scan_0001.jpg"
    src.write_bytes(data)
    subprocess.run(["cp", str(src), str(settings.hot_folder / "scan_0001.jpg")], check=True)


def _tmp_then_rename(settings, tmp_path: Path, data: bytes) -> None:
    tmp = settings.hot_folder / "scan_0001.jpg.tmp"  # ignored name, then a Moved event
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, settings.hot_folder / "scan_0001.jpg")


@pytest.mark.parametrize("deliver", [_rename_in, _cp, _tmp_then_rename], ids=["rename-in", "cp", "tmp-rename"])
def test_every_way_a_file_arrives_is_taken(settings, rows, tmp_path, deliver):
    data = page_jpeg(2)
    with watching(settings):
        deliver(settings, tmp_path, data)
        wait_for(lambda: len(rows.stored()) == 1)
    assert rows.stored() == [("scan_0001.jpg", sha256_hex(data))]
    assert rows.quarantined() == [] and hot_files(settings.hot_folder) == []


def test_files_dropped_while_not_watching_are_taken_by_the_start_up_scan_in_name_order(settings, rows):
    names = ["scan_10.jpg", "scan_2.jpg", "scan_9.jpg"]
    for i, name in enumerate(names):
        (settings.hot_folder / name).write_bytes(page_jpeg(10 + i))
    # rescan_seconds is 30: only the scan at start-up can find these (no event will come)
    with watching(settings):
        wait_for(lambda: len(rows.stored()) == 3)
    assert rows.names() == ["scan_2.jpg", "scan_9.jpg", "scan_10.jpg"]


def test_a_missed_event_is_made_good_by_the_periodic_rescan(tmp_path, central_keys, monkeypatch):
    # inotify drops events when its queue overflows (IN_Q_OVERFLOW): simulate that for one name
    handle = watch_mod._Handler.on_any_event

    def lossy(self, event):
        if "lost" not in os.fsdecode(getattr(event, "dest_path", "") or event.src_path):
            handle(self, event)

    monkeypatch.setattr(watch_mod._Handler, "on_any_event", lossy)
    settings = load_settings(make_home(tmp_path, central_keys, rescan_seconds=0.5))
    rows = Rows(settings.db_path)
    lost, seen = page_jpeg(20), page_jpeg(21)
    with watching(settings):
        (settings.hot_folder / "scan_lost_0001.jpg").write_bytes(lost)  # after start-up: no scan saw it
        SimulatedScanner(settings.hot_folder, start=2).write(page_image(21))
        wait_for(lambda: len(rows.stored()) == 2)
    assert sorted(rows.stored()) == sorted([("scan_lost_0001.jpg", sha256_hex(lost)), ("scan_0002.jpg", sha256_hex(seen))])
    rows.db.close()


def test_strays_wait_out_the_grace_then_are_quarantined_and_hidden_files_are_never_taken(settings, rows):
    """A file the profile does not take (another type, a temporary name a scanner never
    renamed) is left alone while it may still change, then quarantined with its reason:
    nothing waits in the hot folder forever. Hidden dot-files are never touched."""
    hidden = {".scan_0001.jpg": b"\xff\xd8\xff partial"}
    strays = {
        "scan_0002.jpg.tmp": "FILE_NEVER_COMPLETE",
        "scan_0004.part": "FILE_NEVER_COMPLETE",
        "notes.txt": "FILE_TYPE_NOT_ACCEPTED",
        "scan_0006.bmp": "FILE_TYPE_NOT_ACCEPTED",
    }
    with watching(settings):
        for name, data in hidden.items():
            (settings.hot_folder / name).write_bytes(data)
        for name in strays:
            (settings.hot_folder / name).write_bytes(b"\xff\xd8\xff partial " + name.encode())
        SimulatedScanner(settings.hot_folder, start=5).write(page_image(5))
        wait_for(lambda: len(rows.stored()) == 1)
        assert rows.quarantined() == []  # inside the grace: a scanner may still be writing them
        wait_for(lambda: len(rows.quarantined()) == len(strays), timeout=40)
    assert dict(rows.quarantined()) == strays
    assert rows.names() == ["scan_0005.jpg"]
    assert hot_files(settings.hot_folder) == sorted(hidden)


def test_a_jpeg_that_stays_truncated_is_quarantined_after_the_grace_and_watching_goes_on(settings, rows):
    good, later = page_jpeg(30), page_jpeg(31)
    with watching(settings):
        (settings.hot_folder / "scan_0001.jpg").write_bytes(page_jpeg(29)[:-4000])  # the scanner died mid-page
        (settings.hot_folder / "scan_0002.jpg").write_bytes(good)
        wait_for(lambda: len(rows.stored()) == 1)
        assert rows.quarantined() == []  # the good file did not wait for the bad one
        wait_for(lambda: len(rows.quarantined()) == 1)
        (settings.hot_folder / "scan_0003.jpg").write_bytes(later)
        wait_for(lambda: len(rows.stored()) == 2)
    assert rows.quarantined() == [("scan_0001.jpg", "FILE_TRUNCATED")]
    assert rows.stored() == [("scan_0002.jpg", sha256_hex(good)), ("scan_0003.jpg", sha256_hex(later))]
    assert hot_files(settings.hot_folder) == []


def test_a_truncated_file_completed_within_the_grace_is_stored_not_quarantined(settings, rows):
    data = page_jpeg(40)
    path = settings.hot_folder / "scan_0001.jpg"
    with watching(settings):
        path.write_bytes(data[: len(data) // 2])
        time.sleep(1.2)  # stalled SMB write: settled, incomplete, inside the 2 s grace
        with open(path, "ab") as f:
            f.write(data[len(data) // 2 :])
        wait_for(lambda: len(rows.stored()) == 1)
    assert rows.stored() == [("scan_0001.jpg", sha256_hex(data))] and rows.quarantined() == []


# ---------------------------------------------------------------- polling: a network share


@pytest.fixture
def share_settings(tmp_path, central_keys, monkeypatch):
    """The network-share profile, its hot folder moved into tmp_path and its delays shortened."""
    root = tmp_path / "profiles"
    shutil.copytree(REPO_PROFILES, root)
    profile = root / "scanners" / "network-share.toml"
    text = profile.read_text("utf-8")
    for old, new in (
        ('path = "/mnt/scanner-share"', f'path = "{tmp_path / "share"}"'),
        ("poll_interval_seconds = 2.0", "poll_interval_seconds = 0.1"),
        ("settle_seconds = 5.0", "settle_seconds = 0.3"),
    ):
        assert old in text
        text = text.replace(old, new)
    profile.write_text(text, "utf-8")
    monkeypatch.setenv("JUANZONG_PROFILES", str(root))
    return load_settings(make_home(tmp_path, central_keys, profile="network-share"))


def test_network_share_is_polled_and_takes_slow_writes_and_multi_page_pdfs(share_settings):
    settings = share_settings
    folder = HotFolder(settings.hot_folder, get_scanner("network-share"))
    assert FolderWatcher(folder, 0.3, 30.0).polling  # inotify does not see writes made by another host
    rows = Rows(settings.db_path)
    jpegs = [page_jpeg(50 + i) for i in range(3)]
    img = page_image(60)
    size = len(jpeg_bytes(img))
    with watching(settings):
        (settings.hot_folder / "scan_0001.pdf").write_bytes(img2pdf.convert(jpegs))
        SimulatedScanner(settings.hot_folder, start=2, chunk_bytes=size // 4 + 1, chunk_delay=0.4).write(img, slow=True)
        wait_for(lambda: len(rows.stored()) == 4)
    stored = rows.stored()
    # the PDF's pages in order, each the scanner's own JPEG; then the slow write, whole
    assert stored[:3] == [("scan_0001.pdf", sha256_hex(j)) for j in jpegs]
    assert stored[3] == ("scan_0002.jpg", sha256_hex(jpeg_bytes(img)))
    assert rows.quarantined() == [] and hot_files(settings.hot_folder) == []
    rows.db.close()


# ---------------------------------------------------------------- the watcher itself


def test_watcher_survives_its_folder_vanishing_and_coming_back(tmp_path):
    profile = get_scanner("simulated")
    folder = HotFolder(tmp_path / "hot", profile)
    watcher = FolderWatcher(folder, 0.05, 0.0)
    watcher.start()
    try:
        away = tmp_path / "away"
        (tmp_path / "hot").rename(away)  # an unmounted share, a removed USB disk
        assert watcher.take_ready() == []  # logs, does not raise
        (away / "scan_0001.jpg").write_bytes(page_jpeg(70))
        away.rename(tmp_path / "hot")
        wait_for(lambda: bool(ready := watcher.take_ready()) and ready[0].name == "scan_0001.jpg", timeout=5)
    finally:
        watcher.stop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_strays_and_stalled_files_wait_out_the_grace_on_the_watchers_clock(tmp_path):
    """Settle then grace, counted on an injected clock: nothing is taken a moment early, and a stalled
    write is taken only after the grace that starts once it settled (no stopwatch in the test)."""
    folder = HotFolder(tmp_path / "hot", get_scanner("simulated"))
    clock = FakeClock()
    watcher = FolderWatcher(folder, 0.2, 60.0, incomplete_grace=2.0, clock=clock)
    stray, stalled = folder.path / "notes.txt", folder.path / "scan_0001.jpg"
    stray.write_bytes(b"not a scan")
    stalled.write_bytes(page_jpeg(72)[:-4000])  # the scanner died mid-page: no end marker
    watcher.rescan()  # both seen now (the stray's grace starts, the scan's settle timer starts)
    assert watcher.take_ready() == []
    clock.advance(0.2)  # the scan settled, incomplete: its grace starts now
    assert watcher.take_ready() == []
    clock.advance(1.75)  # 1.95 s after the stray was seen
    assert watcher.take_ready() == []
    clock.advance(0.1)  # 2.05 s: the stray's grace is over, the scan's (from 0.2 s) is not
    assert watcher.take_ready() == [stray]
    clock.advance(0.1)  # 2.15 s: 1.95 s since the scan settled (each look starts its settle timer again)
    assert watcher.take_ready() == []
    clock.advance(0.2)  # 2.35 s: settled again, 2.15 s since it first settled incomplete
    assert watcher.take_ready() == [stalled]


def test_reading_a_file_does_not_restart_its_settle_timer(tmp_path):
    # our own completeness check (and an antivirus) open the file: Opened/ClosedNoWrite must not count
    folder = HotFolder(tmp_path / "hot", get_scanner("simulated"))
    watcher = FolderWatcher(folder, 0.3, 60.0)
    path = folder.path / "scan_0001.jpg"
    watcher.start()
    try:
        path.write_bytes(page_jpeg(71))
        started = time.monotonic()
        taken: list[Path] = []
        while not taken and time.monotonic() - started < 5:
            path.read_bytes()  # a reader every 50 ms, forever
            taken = watcher.take_ready()
            time.sleep(0.05)
        assert taken == [path]
    finally:
        watcher.stop()


def test_a_file_that_cannot_be_claimed_is_left_in_place(tmp_path, caplog):
    folder = HotFolder(tmp_path / "hot", get_scanner("simulated"))
    path = folder.path / "scan_0001.jpg"
    path.write_bytes(page_jpeg(72))
    shutil.rmtree(folder.spool)
    folder.spool.write_bytes(b"")  # the spool path is a file: rename fails with ENOTDIR
    assert folder.claim(path) is None
    assert path.exists() and "cannot claim" in caplog.text
