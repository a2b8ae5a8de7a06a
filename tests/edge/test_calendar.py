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
from juanzong.shared.ids import format_id  # ids are printed one way (issue 8)

TZ = ZoneInfo("Asia/Shanghai")
CASE = "（2026）京0102民初1234号"
FAKETIME = shutil.which("faketime")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def register(db, settings, received: str, now: str, urgent: bool = False):
    return intake.register(
        db,
        settings,
        case_text=CASE,
        submitter="张三",
        items=[intake.ItemSpec("起诉状", 2)],
        received_at=at(received),
        now=at(now),
        urgent=urgent,
    )


def jz(*args: str, clock: str, check: bool = True) -> subprocess.CompletedProcess:
    """A real `juanzong` process whose system clock reads `clock` (libfaketime, Debian `faketime`)."""
    assert FAKETIME, "faketime missing: make setup installs it (Makefile DEBS)"
    env = {**os.environ, "TZ": "Asia/Shanghai"}
    return subprocess.run(
        [FAKETIME, clock, sys.executable, "-P", "-m", "juanzong.shared.cli", *args], capture_output=True, text=True, check=check, env=env
    )


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
    proc = jz(
        "edge", "intake", "add", *home, "--json", "--case", CASE, "--submitter", "王五", "--item", "起诉状:3", clock="2026-12-31 13:00:00"
    )
    out = json.loads(proc.stdout)
    assert out["received_at"].startswith("2026-12-31T13:00")
    assert out["deadline"] == "2027-01-04T12:00:00+08:00" and out["deadline_provisional"] is True
    assert out["receipt"][0]["printed"] is True
    late = jz(
        "edge",
        "intake",
        "add",
        *home,
        "--json",
        "--case",
        CASE,
        "--submitter",
        "王五",
        "--item",
        "起诉状:3",
        "--received",
        "2027-01-05T10:00",
        clock="2026-12-31 13:00:00",
        check=False,
    )
    assert late.returncode == 1 and "RECEIVED_IN_FUTURE" in late.stderr and "设备时钟" in late.stderr


# ---------------------------------------------------------------- importing the official arrangement

# Made-up but notice-shaped: 春节 off 02-05 and 02-08..02-11 (one day longer than the law's
# make-up days), Saturday 02-20 worked. Only the shape matters, not the real 2027 notice.
ARRANGEMENT_2027 = """\
# 国务院办公厅关于2027年部分节假日安排的通知（测试数据）
[years.2027]
source = "国务院办公厅关于2027年部分节假日安排的通知（测试数据）"
holidays = [
  "2027-01-01",
  "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11",
]
workdays = ["2027-02-20"]
"""


def write(tmp_path: Path, text: str, name: str = "2027.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def audit_rows(db, action: str) -> list[tuple[str, dict]]:
    rows = db.execute("SELECT target, detail FROM audit WHERE action = ? ORDER BY seq", [action]).fetchall()
    return [(t, json.loads(d)) for t, d in rows]


def test_import_makes_the_year_official_and_recomputes_audited(db, settings, tmp_path: Path) -> None:
    from juanzong.edge import batches, holidays
    from juanzong.edge.keys import load_keys

    new_year = register(db, settings, "2026-12-31T13:00", now="2026-12-31T13:00")
    spring = register(db, settings, "2027-02-04T15:00", now="2027-02-04T15:00")
    official = register(db, settings, "2026-12-30T10:00", now="2026-12-30T10:00")
    urgent = register(db, settings, "2027-02-05T10:00", now="2027-02-05T10:00", urgent=True)
    assert spring.deadline.isoformat() == "2027-02-11T12:00:00+08:00" and spring.deadline_provisional
    assert not official.deadline_provisional and not urgent.deadline_provisional
    assert batches.seal(db, settings.appliance_id, load_keys(settings.keys_dir))  # all four went to central

    result = holidays.import_arrangement(db, settings, write(tmp_path, ARRANGEMENT_2027), intake.deadline_rules(settings))
    assert [t.year for t in result.years] == [2027]
    changes = {c.intake_id: c for c in result.changes}
    assert set(changes) == {new_year.intake_id, spring.intake_id}  # only the provisional ones
    assert (changes[spring.intake_id].old_due, changes[spring.intake_id].new_due) == (
        "2027-02-11T12:00:00+08:00",
        "2027-02-12T12:00:00+08:00",
    )
    assert changes[new_year.intake_id].new_due == "2027-01-04T12:00:00+08:00"  # same time, now official
    assert not any(c.provisional for c in result.changes)

    rows = dict((r[0], r[1:]) for r in db.execute("SELECT id, deadline, deadline_provisional, batch_id FROM intakes"))
    assert rows[spring.intake_id] == ("2027-02-12T12:00:00+08:00", 0, None)  # travels again with the next batch
    assert rows[official.intake_id][2] is not None and rows[urgent.intake_id][2] is not None
    (imported,) = audit_rows(db, "calendar_import")
    assert imported[1]["years"] == {"2027": "国务院办公厅关于2027年部分节假日安排的通知（测试数据）"}
    recomputed = {target: detail for target, detail in audit_rows(db, "deadline_recompute")}
    assert recomputed[spring.intake_id]["old"] == "2027-02-11T12:00:00+08:00"
    assert recomputed[spring.intake_id]["new"] == "2027-02-12T12:00:00+08:00"
    assert recomputed[spring.intake_id]["provisional"] is False
    from juanzong.edge.audit import verify_chain

    assert verify_chain(db) is None

    # from now on 2027 is official here: a new intake is not provisional, and the receipt says so
    later = register(db, settings, "2027-02-19T15:00", now="2027-02-19T15:00")
    assert later.deadline.isoformat() == "2027-02-20T12:00:00+08:00" and not later.deadline_provisional  # worked Saturday
    lines = [line.text for line in receipt_text(receipt_for(db, settings, spring.intake_id))]
    assert "办理时限：2027-02-12 12:00" in lines

    batch_id = batches.seal(db, settings.appliance_id, load_keys(settings.keys_dir))
    manifest = json.loads(db.execute("SELECT manifest FROM batches WHERE id = ?", [batch_id]).fetchone()[0])
    sent = {i["intake_id"]: i for i in manifest["intakes"]}
    assert sent[spring.intake_id]["deadline"] == "2027-02-12T12:00:00+08:00"
    assert sent[spring.intake_id]["deadline_provisional"] is False
    assert official.intake_id not in sent


def test_import_from_the_command_line_lists_the_changes(edge_home: Path, db, settings, tmp_path: Path) -> None:
    spring = register(db, settings, "2027-02-04T15:00", now="2027-02-04T15:00")
    path = write(tmp_path, ARRANGEMENT_2027)
    proc = jz("edge", "calendar", "import", "--home", str(edge_home), str(path), clock="2027-02-06 09:00:00")
    assert "已导入 2027 年放假安排" in proc.stdout
    assert f"{format_id(spring.intake_id)} {CASE}：2027-02-11T12:00:00+08:00 → 2027-02-12T12:00:00+08:00" in proc.stdout
    status = json.loads(jz("edge", "calendar", "status", "--home", str(edge_home), "--json", clock="2027-02-06 09:00:00").stdout)
    assert [y["year"] for y in status["years"]][:3] == [2028, 2027, 2026] and status["years"][-1]["year"] == 2004
    by_year = {y["year"]: y for y in status["years"]}
    assert by_year[2027]["basis"] == "official" and by_year[2027]["imported"]["file"] == "2027.toml"
    assert by_year[2028]["basis"] == "provisional" and by_year[2026]["basis"] == "official"
    assert status["provisional_deadlines"] == 0 and status["warnings"] == []


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ('[years.2027]\nsource = "x"\nholidays = [\n  "2027-01-01",\n  "2028-01-03",\n]\n', 5, "不属于 2027 年"),
        ('[years.2027]\nsource = "x"\nholidays = ["2027-02-08"]\nworkdays = ["2027-02-08"]\n', 4, "同时被列为放假"),
        ('[years.2027]\nsource = "x"\nholidays = ["2027-01-01", "2027-02-06"]\n', 3, "星期六"),
        ('[years.2027]\nsource = "x"\n\nworkdays = ["2027-02-09"]\n', 4, "星期二"),
        ('# 通知\n[years.2027]\nholidays = ["2027-01-01"]\n', 2, "缺少 source"),
        ('[years.2027]\nsource = "x"\nholidays = ["2027-01-01"\n', 3, "TOML"),
        ('[years.2027]\nsource = "x"\nholiday = ["2027-01-01"]\n', 3, "holiday"),
        ('[years.2027]\nsource = "x"\nholidays = ["2027-02-30"]\n', 3, "2027-02-30"),
    ],
)
def test_bad_arrangement_refused_naming_the_line_nothing_applied(db, settings, tmp_path: Path, text: str, line: int, needle: str) -> None:
    from juanzong.edge import holidays

    provisional = register(db, settings, "2027-02-04T15:00", now="2027-02-04T15:00")
    path = write(tmp_path, text)
    with pytest.raises(AppError) as err:
        holidays.import_arrangement(db, settings, path, intake.deadline_rules(settings))
    assert err.value.code == ErrorCode.CALENDAR_IMPORT_INVALID
    assert f"第 {line} 行" in err.value.message and needle in err.value.message and str(path) in err.value.message
    assert "未导入" in err.value.message
    assert db.execute("SELECT COUNT(*) FROM calendar_years").fetchone()[0] == 0
    assert db.execute("SELECT deadline_provisional FROM intakes WHERE id = ?", [provisional.intake_id]).fetchone() == (1,)
    assert audit_rows(db, "calendar_import") == [] and audit_rows(db, "deadline_recompute") == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('days_off = ["2027-03-01"]\n', "只能包含 [years.YYYY]"),
        ("# empty\n", "没有任何"),
        ('[years.2100]\nsource = "x"\n', "2100"),
    ],
)
def test_import_only_takes_whole_years_in_range(db, settings, tmp_path: Path, text: str, needle: str) -> None:
    from juanzong.edge import holidays

    with pytest.raises(AppError) as err:
        holidays.import_arrangement(db, settings, write(tmp_path, text), intake.deadline_rules(settings))
    assert err.value.code == ErrorCode.CALENDAR_IMPORT_INVALID and needle in err.value.message


# ---------------------------------------------------------------- early warning


def test_status_warns_from_1_november_until_next_year_is_imported(db, settings, tmp_path: Path) -> None:
    from datetime import date

    from juanzong.edge import holidays
    from juanzong.edge.status import status

    assert status(db, settings, today=date(2026, 10, 31))["calendar"]["warnings"] == []
    (warning,) = status(db, settings, today=date(2026, 11, 1))["calendar"]["warnings"]
    assert warning.startswith("2027 年放假安排尚未导入，2027 年的办理时限为暂定") and "edge calendar import" in warning
    (warning,) = status(db, settings, today=date(2027, 1, 5))["calendar"]["warnings"]  # still missing in January
    assert warning.startswith("2027 年")
    register(db, settings, "2027-01-05T15:00", now="2027-01-05T15:00")
    st = status(db, settings, today=date(2027, 1, 5))
    assert st["calendar"]["provisional_deadlines"] == 1 and st["items"][0]["deadline_provisional"] is True
    holidays.import_arrangement(db, settings, write(tmp_path, ARRANGEMENT_2027), intake.deadline_rules(settings))
    assert status(db, settings, today=date(2026, 11, 1))["calendar"]["warnings"] == []
    (warning,) = status(db, settings, today=date(2027, 11, 1))["calendar"]["warnings"]
    assert warning.startswith("2028 年")


def test_status_command_shows_the_warning_and_provisional_deadlines(edge_home: Path, db, settings) -> None:
    register(db, settings, "2026-12-31T13:00", now="2026-12-31T13:00")
    proc = jz("edge", "status", "--home", str(edge_home), clock="2026-12-31 13:05:00")
    first = proc.stdout.splitlines()[0]
    assert first.startswith("注意：2027 年放假安排尚未导入，2027 年的办理时限为暂定")
    assert f"juanzong edge calendar import --home {edge_home} " in first
    assert "办理时限 2027-01-04 12:00（暂定）" in proc.stdout


def test_packaged_calendar_status_lists_next_year_back_to_2004() -> None:
    years = json.loads(jz("calendar", "status", "--json", clock="2026-12-31 13:00:00").stdout)
    assert [y["year"] for y in years] == list(range(2027, 2003, -1))
    assert years[0]["basis"] == "provisional" and "放假办法" in years[0]["source"]
    assert all(y["basis"] == "official" and "chinese-calendar" in y["source"] for y in years[1:])
    text = jz("calendar", "status", clock="2027-06-01 09:00:00").stdout.splitlines()
    assert text[0].startswith("2028 年  暂定") and text[1].startswith("2027 年  暂定") and text[2].startswith("2026 年  正式")
