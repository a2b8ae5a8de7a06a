"""StabilityTracker: a file is ready only after it stopped changing for the delay (fake clock, 0.1 s)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from juanzong.edge.watch.tracker import StabilityTracker, natural_key

DELAY = 0.1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tracker(clock: Clock) -> StabilityTracker:
    return StabilityTracker(DELAY, clock=clock)


def write(path: Path, data: bytes, mtime_ns: int | None = None) -> Path:
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_a_file_is_ready_once_unchanged_for_the_delay_and_then_leaves(tmp_path, clock, tracker):
    path = write(tmp_path / "scan_0001.jpg", b"abc")
    tracker.touch(path)
    clock.advance(DELAY * 0.9)
    assert tracker.ready() == []
    clock.advance(DELAY * 0.2)
    assert tracker.ready() == [path]
    assert path not in tracker and tracker.pending() == 0
    assert tracker.ready() == []  # handed out once


def test_each_event_restarts_the_timer(tmp_path, clock, tracker):
    # a duplex ADF opens and closes the file between sides: every event resets the wait
    path = write(tmp_path / "scan_0001.tif", b"side 1")
    tracker.touch(path)
    for _ in range(5):
        clock.advance(DELAY * 0.8)
        tracker.touch(path)
        assert tracker.ready() == []
    clock.advance(DELAY)
    assert tracker.ready() == [path]


def test_a_size_change_without_an_event_restarts_the_timer(tmp_path, clock, tracker):
    # polling on a network share gives no event per write: the stat check must catch growth
    path = write(tmp_path / "scan_0001.jpg", b"x" * 10, mtime_ns=1_000_000_000)
    tracker.touch(path)
    clock.advance(DELAY * 2)
    write(path, b"x" * 20, mtime_ns=1_000_000_000)  # same mtime, bigger
    assert tracker.ready() == []
    clock.advance(DELAY * 0.5)
    assert tracker.ready() == []
    clock.advance(DELAY * 0.6)
    assert tracker.ready() == [path]


def test_an_mtime_change_at_the_same_size_restarts_the_timer(tmp_path, clock, tracker):
    # a scanner rewriting a page in place keeps the size: the mtime shows it
    path = write(tmp_path / "scan_0001.jpg", b"first", mtime_ns=1_000_000_000)
    tracker.touch(path)
    clock.advance(DELAY * 2)
    write(path, b"secnd", mtime_ns=2_000_000_000)
    assert tracker.ready() == []
    clock.advance(DELAY * 1.1)
    assert tracker.ready() == [path]


def test_a_vanished_file_drops_out(tmp_path, clock, tracker):
    path = write(tmp_path / "scan_0001.jpg", b"abc")
    tracker.touch(path)
    path.unlink()
    clock.advance(DELAY * 2)
    assert tracker.ready() == [] and tracker.pending() == 0


def test_touching_a_missing_path_forgets_it(tmp_path, clock, tracker):
    path = write(tmp_path / "scan_0001.jpg", b"abc")
    tracker.touch(path)
    path.unlink()
    tracker.touch(path)  # the Deleted/Moved-away event
    assert path not in tracker and tracker.pending() == 0
    tracker.touch(tmp_path / "never-existed.jpg")
    assert tracker.pending() == 0


def test_forget_removes_a_pending_path(tmp_path, clock, tracker):
    path = write(tmp_path / "scan_0001.jpg", b"abc")
    tracker.touch(path)
    tracker.forget(path)
    clock.advance(DELAY * 2)
    assert tracker.ready() == []


def test_ready_files_come_out_in_natural_name_order(tmp_path, clock, tracker):
    names = ["scan_10.jpg", "scan_2.jpg", "scan_1.jpg", "Scan_3.jpg", "scan_100.jpg", "scan_20.jpg"]
    for name in names:
        tracker.touch(write(tmp_path / name, b"x"))
    clock.advance(DELAY)
    assert [p.name for p in tracker.ready()] == ["scan_1.jpg", "scan_2.jpg", "Scan_3.jpg", "scan_10.jpg", "scan_20.jpg", "scan_100.jpg"]


def test_only_the_settled_files_are_ready_the_others_wait(tmp_path, clock, tracker):
    old = write(tmp_path / "scan_0002.jpg", b"x")
    tracker.touch(old)
    clock.advance(DELAY * 0.6)
    new = write(tmp_path / "scan_0001.jpg", b"y")
    tracker.touch(new)
    clock.advance(DELAY * 0.6)
    assert tracker.ready() == [old]
    assert new in tracker
    clock.advance(DELAY * 0.6)
    assert tracker.ready() == [new]


def test_a_zero_delay_takes_a_file_at_the_next_look(tmp_path, clock):
    tracker = StabilityTracker(0.0, clock=clock)
    path = write(tmp_path / "scan_0001.jpg", b"x")
    tracker.touch(path)
    assert tracker.ready() == [path]


@pytest.mark.parametrize(
    "names",
    [
        ["a", "a1", "a.jpg", "1", "b2c3", "b2c10"],  # text vs digits at the same position
        ["scan²_1.jpg", "scan²_2.jpg", "scan_1.jpg"],  # '²' is isdigit() but not a decimal digit
        ["扫描_１２.jpg", "扫描_３.jpg", "扫描_2.jpg"],  # full-width digits compare as numbers too
        ["scan_01.jpg", "scan_1.jpg", "SCAN_1.jpg"],  # equal numbers: the exact name breaks the tie
    ],
)
def test_natural_key_orders_any_names_without_error(names):
    ordered = sorted((Path(n) for n in names), key=natural_key)
    assert len(ordered) == len(names)
    assert sorted(ordered, key=natural_key) == ordered


def test_natural_key_full_width_digits_are_numbers():
    ordered = sorted((Path(n) for n in ["扫描_１２.jpg", "扫描_３.jpg"]), key=natural_key)
    assert [p.name for p in ordered] == ["扫描_３.jpg", "扫描_１２.jpg"]
