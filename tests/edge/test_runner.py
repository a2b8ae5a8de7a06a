"""`edge run` as a real process: one instance per home, a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

pytestmark = pytest.mark.e2e  # `edge run` as real processes


def test_a_second_edge_run_on_the_same_home_is_refused(edge_home):
    cmd = [sys.executable, "-P", "-m", "juanzong.shared.cli", "edge", "run", "--home", str(edge_home)]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not (edge_home / "data" / "edge-run.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert "APPLIANCE_RUNNING" in second.stderr and "已在运行" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0


def _documents_worker(run: psutil.Process, deadline: float) -> psutil.Process:
    while time.monotonic() < deadline:
        for child in run.children():
            try:
                if "documents-worker" in child.cmdline():
                    return child
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.2)
    raise AssertionError("edge run started no documents worker")


def _gone(proc: psutil.Process, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_the_documents_worker_dies_with_a_killed_edge_run(edge_home):
    """kill -9 of `edge run` takes its OCR worker along: a survivor would race the next
    start's blob sweep (a document row left without its file) and hold its models' memory."""
    cmd = [sys.executable, "-P", "-m", "juanzong.shared.cli", "edge", "run", "--home", str(edge_home)]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        worker = _documents_worker(psutil.Process(first.pid), time.monotonic() + 120)  # hang guard on a loaded machine
        first.kill()
        first.wait(timeout=30)
        assert _gone(worker, time.monotonic() + 30), "the documents worker outlived edge run"
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_start_up_sweep_leaves_blobs_alone_while_a_worker_holds_the_lock(settings):
    """A blob written a moment before its row commits is not an orphan while its writer lives."""
    from juanzong.edge.appliance import Appliance
    from juanzong.edge.documents.worker import lock_path

    Appliance(settings)  # migrated home
    orphan = settings.blob_dir / "ab" / "Dabcdefgh.jzb"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"sealed bytes of a document whose row is about to commit")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import fcntl, sys, time\n"
                f"h = open({str(lock_path(settings))!r}, 'a'); fcntl.flock(h, fcntl.LOCK_EX)\n"
                "print('held', flush=True); sys.stdin.read()\n"
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        from juanzong.edge.documents import worker

        with worker.no_worker_running(settings, wait_seconds=0.5) as quiet:
            assert quiet is False
        Appliance(settings).recover()
        assert orphan.exists(), "the sweep took a blob while a documents worker was running"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    Appliance(settings).recover()
    assert not orphan.exists(), "with no worker alive the orphan is swept"
