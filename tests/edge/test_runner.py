"""`edge run` as a real process: one instance per home, a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

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
