"""Holiday data on the appliance: provisional deadlines at the counter, imported arrangements,
recomputed deadlines. Every "now" is a clock the test controls (an argument, or faketime for a
real `juanzong` process), so nothing depends on today's date."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from juanzong.edge import intake
from juanzong.edge.devices.printer import receipt_text
from juanzong.edge.printing import receipt_for
from juanzong.shared.errors import AppError, ErrorCode

TZ = ZoneInfo("Asia/Shanghai")
CASE = "（2026）京0102民初1234号"
FAKETIME = shutil.which("faketime")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def register(db, settings, received: str, now: str, urgent: bool = False):
    return intake.register(db, settings, case_text=CASE, submitter="张三", items=[intake.ItemSpec("起诉状", 2)],
                           received_at=at(received), now=at(now), urgent=urgent)


def jz(*args: str, clock: str, check: bool = True) -> subprocess.CompletedProcess:
    """A real `juanzong` process whose system clock reads `clock` (libfaketime, Debian `faketime`)."""
    assert FAKETIME, "faketime missing: make setup installs it (Makefile DEBS)"
    env = {**os.environ, "TZ": "Asia/Shanghai"}
    return subprocess.run([FAKETIME, clock, sys.executable, "-P", "-m", "juanzong.shared.cli", *args],
                          capture_output=True, text=True, check=check, env=env)


# ---------------------------------------------------------------- the counter is never refused


def test_new_year_eve_afternoon_intake_is_provisional(db, settings) -> None:
    registered = register(db, settings, "2026-12-31T13:00", now="2026-12-31T13:00")
    out = registered.to_dict()
    assert out["deadline"] == "2027-01-04T12:00:00+08:00" and out["deadline_provisional"] is True
    assert "放假办法" in out["deadline_source"] and out["warnings"] == []
    row = db.execute("SELECT deadline, deadline_provisional FROM intakes WHERE id = ?", [registered.intake_id]).fetchone()
    assert row == ("2027-01-04T12:00:00+08:00", 1)
    lines = [line.text for line in receipt_text(receipt_for(db, settings, registered.intake_id))]
    assert "办理时限：2027-01-04 12:00（暂定）" in lines


def test_2026_intake_unchanged_and_official(db, settings) -> None:
    registered = register(db, settings, "2026-02-13T15:00", now="2026-02-13T15:01")
    assert registered.deadline.isoformat() == "2026-02-14T12:00:00+08:00"  # the adjusted Saturday
    assert registered.deadline_provisional is False and "chinese-calendar" in registered.deadline_source
    lines = [line.text for line in receipt_text(receipt_for(db, settings, registered.intake_id))]
    assert "办理时限：2026-02-14 12:00" in lines


def test_future_received_time_refused_and_nothing_stored(db, settings) -> None:
    with pytest.raises(AppError) as err:
        register(db, settings, "2026-12-31T14:00", now="2026-12-31T13:00")
    assert err.value.code == ErrorCode.RECEIVED_IN_FUTURE
    assert db.execute("SELECT COUNT(*) FROM intakes").fetchone()[0] == 0


def test_late_entry_accepted_with_a_warning(db, settings) -> None:
    registered = register(db, settings, "2027-01-04T09:00", now="2027-01-08T10:00")
    out = registered.to_dict()
    assert out["deadline"] == "2027-01-04T18:00:00+08:00" and out["deadline_provisional"] is True
    assert any(w.startswith("补登") for w in out["warnings"])
    assert db.execute("SELECT late_entry FROM intakes").fetchone() == (1,)


def test_out_of_range_year_refused(db, settings) -> None:
    with pytest.raises(AppError) as err:
        register(db, settings, "2003-06-02T09:00", now="2003-06-02T09:00")
    assert err.value.code == ErrorCode.CALENDAR_YEAR_OUT_OF_RANGE


@pytest.mark.skipif(FAKETIME is None, reason="needs Debian faketime (make setup)")
def test_cli_intake_at_a_faked_new_year_eve(edge_home: Path) -> None:
    home = ["--home", str(edge_home)]
    proc = jz("edge", "intake", "add", *home, "--case", CASE, "--submitter", "王五", "--item", "起诉状:3",
              clock="2026-12-31 13:00:00")
    out = json.loads(proc.stdout)
    assert out["received_at"].startswith("2026-12-31T13:00")
    assert out["deadline"] == "2027-01-04T12:00:00+08:00" and out["deadline_provisional"] is True
    assert out["receipt"][0]["printed"] is True
    late = jz("edge", "intake", "add", *home, "--case", CASE, "--submitter", "王五", "--item", "起诉状:3",
              "--received", "2027-01-05T10:00", clock="2026-12-31 13:00:00", check=False)
    assert late.returncode == 1 and "RECEIVED_IN_FUTURE" in late.stderr and "设备时钟" in late.stderr
