"""Crash safety of the appliance ingest: `kill -9` at random moments and a crash at
every named durable step, each time on the real `juanzong edge` process.

Invariants after every crash (crash_kit.check_consistent): every scanned file is
in the hot folder, in the spool, or stored exactly once, in scanner order, with
its item's page numbers 1..n, every row's blob on disk, `integrity_check` ok and
the audit chain intact. After a restart that got past recovery, no temp or
orphan blob of the crashed run survives. After a clean run: nothing waits,
nothing stray on disk, and every blob opens to the scanner's exact bytes.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import crash_kit as kit
import pytest
from edge_kit import cover_for

from juanzong.edge.crashpoints import STEPS
from juanzong.edge.tooling.pages import invoice_page, jpeg_bytes, text_page, waybill_page

ITEMS = (("起诉状", 99), ("证据材料", 98))
KILLS = 50
DAMAGED_AT = 150  # scanner position of the one damaged file (in the second item's run)


@dataclass(frozen=True)
class World:
    template: kit.Template
    batch: tuple[kit.ScanFile, ...]  # the 200-file ingest
    small: tuple[kit.ScanFile, ...]  # 8 files for the named crash points


# text_page(8) makes zxing see a broken symbol and pay ~1 s for the median stage:
# left out, or start-up plus that one page outlasts most kill windows
TEXT_SEEDS = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10)


def _base_pages() -> list[bytes]:
    """A dozen rendered pages (text in colour and grey, two with foreign barcodes), encoded once."""
    pages = [text_page(seed, colour=seed % 3 != 0) for seed in TEXT_SEEDS] + [waybill_page(90), invoice_page(91)]
    return [jpeg_bytes(p, quality=80 + i) for i, p in enumerate(pages)]


def _batch(root: Path, template: kit.Template) -> tuple[kit.ScanFile, ...]:
    """cover 1, 99 pages, cover 2, 99 pages of which one (scan_0150) is damaged."""
    bases, files = _base_pages(), []
    for n in range(1, 201):
        name, item = f"scan_{n:04d}.jpg", 0 if n <= 100 else 1
        if n in (1, 101):
            data, kind = jpeg_bytes(cover_for(template.intake, item)), "cover"
        else:
            data, kind = kit.with_scan_comment(bases[n % len(bases)], f"scan {n:04d}"), "page"
        if n == DAMAGED_AT:
            data, kind, item = kit.damaged_jpeg(data), "damaged", None
        files.append(kit.write_scan_file(root, name, data, kind, item))
    return tuple(files)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    started = time.perf_counter()
    root = tmp_path_factory.mktemp("crash-world")
    template = kit.make_template(root, ITEMS)
    (root / "scans").mkdir()
    batch = _batch(root / "scans", template)
    # cover, 3 pages, the damaged file, cover, 2 pages: the 5th time a blob step is
    # reached is the damaged file's quarantine, the 5th encrypt/commit the second cover
    small = kit.renamed([batch[0], *batch[1:4], batch[DAMAGED_AT - 1], batch[100], *batch[101:103]])
    print(
        f"\ncrash world: {len(batch)} scan files, {sum(f.size for f in batch) / 1e6:.0f} MB, "
        f"generated in {time.perf_counter() - started:.1f} s"
    )
    return World(template, batch, small)


# ---------------------------------------------------------------- named crash points

# What the first crash (at the first cover sheet, fresh start) must leave behind:
# the claimed file is always in the spool; besides it, nothing, a temp blob, a
# complete blob no row knows (orphan), or the committed rows.
LEFT_BEHIND = {
    "hash": "nothing",
    "encrypt": "nothing",
    "write": "nothing",
    "fsync": "temp",
    "rename": "temp",
    "dir_fsync": "orphan",
    "commit": "orphan",
    "remove_source": "stored",
}
FIFTH_HIT = {"encrypt": 6, "commit": 6}  # the damaged file is never encrypted or committed as a page


def _crash(home: Path, spec: str) -> None:
    result = kit.ingest_once(home, crash_at=spec)
    assert result.returncode == kit.CRASH_EXIT, f"{spec}: exit {result.returncode}\n{result.stderr[-3000:]}"


def _left_behind(state: kit.DiskState) -> str:
    found = {"temp": len(state.temps), "orphan": len(state.orphans), "stored": len(state.stored)}
    assert sum(found.values()) <= 1, found
    return next((k for k, v in found.items() if v), "nothing")


@pytest.mark.slow  # crash tests: a child process killed at each durable step, then recovery
@pytest.mark.parametrize("step", STEPS)
def test_a_crash_at_each_durable_step_loses_nothing_and_stores_nothing_twice(step, world, tmp_path):
    home = kit.clone_home(world.template, tmp_path / "edge")
    files, items = world.small, world.template.item_ids
    kit.feed(kit.hot_folder(home), files)

    _crash(home, f"{step}:1")  # fresh start, the first cover sheet
    first = kit.look(home)
    kit.check_consistent(first, files, items)
    assert first.spooled_names() == ["scan_0001.jpg"]
    assert _left_behind(first) == LEFT_BEHIND[step]

    _crash(home, f"{step}:1")  # again, now inside recovery: the replay of the spooled file
    second = kit.look(home)
    kit.check_consistent(second, files, items)
    assert set(second.spool) == set(first.spool)  # the same claim: it died replaying it
    kit.check_swept(first, second)

    _crash(home, f"{step}:5")  # further on: the damaged file, or the second cover sheet
    third = kit.look(home)
    kit.check_consistent(third, files, items)
    kit.check_recovered(second, third)
    assert third.spooled_names() == [files[FIFTH_HIT.get(step, 5) - 1].name]

    result = kit.ingest_once(home)
    assert result.returncode == 0, result.stderr[-3000:]
    statuses = [f["status"] for f in json.loads(result.stdout)["files"]]
    assert "retry" not in statuses, statuses
    final = kit.look(home)
    kit.check_complete(final, files, items)
    kit.check_recovered(third, final)
    assert kit.check_blobs_open(home, world.template.central_hpke) == len(files)


# ---------------------------------------------------------------- kill -9 at random moments

BACKLOG = 6  # files the scanner keeps waiting before each restart: ~4 stored per kill window


@dataclass
class Tally:
    kills: int = 0
    claimed: int = 0  # a file in the spool at the kill
    committed_unreleased: int = 0  # … whose rows were already committed
    temp_blobs: int = 0  # a temp blob left behind
    orphan_blobs: int = 0  # a complete blob no row knows
    recoveries_checked: int = 0

    def count(self, state: kit.DiskState) -> None:
        stored = {s.claim for s in state.stored}
        self.claimed += bool(state.spool)
        self.committed_unreleased += any(name in stored for name in state.spool)
        self.temp_blobs += bool(state.temps)
        self.orphan_blobs += bool(state.orphans)


def _top_up(hot: Path, files: tuple[kit.ScanFile, ...], fed: int) -> int:
    """The scanner goes on scanning while the appliance is down: keep BACKLOG files waiting."""
    waiting = sum(1 for p in hot.iterdir() if p.is_file())
    more = min(max(BACKLOG - waiting, 0), len(files) - fed)
    kit.feed(hot, files[fed : fed + more])
    return fed + more


def _kill_at_random(home: Path, log: Path, rng: random.Random) -> None:
    """Start `edge run`; once the appliance is built (imports are not worth a kill), let it
    work a random 0.05-1.5 s, through recovery and ingest, then SIGKILL it."""
    proc = kit.start_run(home, log)
    kit.wait_for_line(proc, log, kit.READY_LINE)
    time.sleep(rng.uniform(0.05, 1.5))
    assert kit.kill_9(proc), f"edge run exited by itself ({proc.returncode}):\n{log.read_text('utf-8')[-3000:]}"


def _run_to_completion(home: Path, log: Path, timeout: float = 120) -> None:
    proc = kit.start_run(home, log)
    kit.wait_for_line(proc, log, kit.READY_LINE)  # SIGTERM is handled from here on
    deadline = time.monotonic() + timeout
    while kit.waiting(kit.hot_folder(home)):
        assert proc.poll() is None, f"edge run exited {proc.returncode}:\n{log.read_text('utf-8')[-3000:]}"
        assert time.monotonic() < deadline, "the clean run did not finish the hot folder"
        time.sleep(0.1)
    assert kit.stop(proc) == 0, log.read_text("utf-8")[-3000:]


@pytest.mark.slow
def test_kill_9_at_random_moments_during_a_200_page_ingest(world, tmp_path):
    seed = int(os.environ.get("JUANZONG_CRASH_SEED") or random.randrange(2**32))
    print(f"\nkill -9 loop: seed {seed} (JUANZONG_CRASH_SEED={seed} repeats the schedule)")
    rng, tally, started = random.Random(seed), Tally(), time.monotonic()
    home = kit.clone_home(world.template, tmp_path / "edge")
    files, items, log, fed = world.batch, world.template.item_ids, tmp_path / "edge-run.log", 0
    hot = kit.hot_folder(home)
    before = kit.look(home)
    while tally.kills < KILLS:
        fed = _top_up(hot, files, fed)
        waiting = {p.name for p in hot.iterdir() if p.is_file()}
        _kill_at_random(home, log, rng)
        tally.kills += 1
        after = kit.look(home)
        kit.check_consistent(after, files[:fed], items)
        if kit.claimed_new(waiting, after):
            kit.check_recovered(before, after)
            tally.recoveries_checked += 1
        elif kit.swept(before, after, waiting):
            kit.check_swept(before, after)
        tally.count(after)
        before = after
    stored_by_kills = len(before.by_sha())
    kit.feed(hot, files[fed:])
    _run_to_completion(home, log)
    final = kit.look(home)
    kit.check_complete(final, files, items)
    kit.check_recovered(before, final)
    assert kit.check_blobs_open(home, world.template.central_hpke) == len(files)
    print(
        f"kill -9 loop: {tally.kills} kills in {time.monotonic() - started:.0f} s (seed {seed}); "
        f"{stored_by_kills}/{len(files)} files stored between kills, {len(files) - stored_by_kills} by the clean run; at the kill: "
        f"{tally.claimed} with a file claimed ({tally.committed_unreleased} committed, not yet released), "
        f"{tally.temp_blobs} a temp blob, {tally.orphan_blobs} an orphan blob; "
        f"{tally.recoveries_checked} recoveries checked; 0 lost, 0 stored twice"
    )
