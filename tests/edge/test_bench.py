"""`juanzong bench ingest` in its short mode: both backends run, every page is checked as stored.

No timing is asserted (a loaded CI box must not fail the suite); the figures only have to
be real numbers, and the benchmark itself refuses to print one when a page did not land.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from juanzong.edge.tooling import bench

LAST_LINE = re.compile(r"^ingest: (\d+\.\d) pages/s, peak RSS (\d+) MB$")


@pytest.fixture(scope="module")
def short_run() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", "bench", "ingest", "--pages", "20"],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ},
    )


@pytest.mark.slow  # runs `bench ingest --pages 20` in a child process
def test_short_run_ends_with_the_figure_line(short_run):
    assert short_run.returncode == 0, short_run.stderr
    last = short_run.stdout.rstrip("\n").splitlines()[-1]
    match = LAST_LINE.match(last)
    assert match, last
    assert float(match.group(1)) > 0 and int(match.group(2)) > 0


@pytest.mark.slow  # runs `bench ingest --pages 20` in a child process
def test_both_backends_store_every_page_and_read_the_cover_sheet(short_run):
    out = short_run.stdout
    for backend in ("zxing", "pyzbar"):
        row = re.search(rf"^{backend}\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)/(\d+)$", out, re.M)
        assert row, out
        pages, seconds, per_s, rss, covers, expected = row.groups()
        assert int(pages) == 20 and float(seconds) > 0 and float(per_s) > 0 and int(rss) > 0
        assert covers == expected == "1"
        assert f"verified {backend}: 20 pages stored" in out
        assert re.search(rf"^stage ms per page, {backend} .*decode .*barcode .*qc .*encrypt .*record", out, re.M)
    assert "baseline in the same run" in out


@pytest.mark.slow  # runs `bench ingest --pages 20` in a child process
def test_the_mix_has_every_kind_of_page(short_run):
    assert "cover sheets 1, text 14, photo sheets 2, blank backsides 2, waybills 1" in short_run.stdout


def test_verify_refuses_a_missing_page_and_a_damaged_blob(tmp_path: Path):
    ws = bench.prepare(tmp_path / "run", tmp_path / "hot", 2)
    (tmp_path / "hot").mkdir()
    bench.run_backend(ws, "zxing", max(os.sched_getaffinity(0)))
    assert bench.verify(ws, "zxing").pages == 2

    missing = replace(ws, hashes={**ws.hashes, "scan_9999.jpg": "0" * 64})
    with pytest.raises(bench.BenchFailed, match="2 pages stored of 3"):
        bench.verify(missing, "zxing")

    blob = next((ws.root / "homes" / "zxing").rglob("*.jzb"))
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    with pytest.raises(bench.BenchFailed, match="does not open"):
        bench.verify(ws, "zxing")


def test_bench_qc_prints_its_figure_line_through_the_production_decode(capsys):
    """`juanzong bench qc` (the figures the QC tests used to print): a real number, nothing asserted on time."""
    from juanzong.shared.cli import main

    assert main(["bench", "qc", "--repeat", "1"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"qc: \d+\.\d ms/page analyse, \d+\.\d ms/page decode for QC \(median of 4\)", last), last
