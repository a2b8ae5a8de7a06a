"""Deadlines against the real chinese_calendar data and real override files (no mocks)."""

from __future__ import annotations

import json
import subprocess
import sys
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.workdays import (
    PACKAGED_OVERRIDES,
    Basis,
    DeadlineRules,
    WorkCalendar,
    compute_deadline,
    parse_received,
)

REPO = Path(__file__).resolve().parents[2]

# Made-up but notice-shaped 2027 data: only the tests' shape matters, not the real notice.
OVERRIDE_2027 = """
[years.2027]
source = "国务院办公厅关于2027年部分节假日安排的通知（测试数据）"
holidays = ["2027-01-01"]
workdays = ["2027-02-06"]
"""


def due(text: str, **kwargs) -> str:
    return compute_deadline(parse_received(text), **kwargs).isoformat()


def write(tmp_path: Path, text: str, name: str = "calendar_overrides.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the rule on ordinary days


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("2026-03-02T09:00:00", "2026-03-02T18:00:00+08:00"),  # Monday morning → same day
        ("2026-03-02T11:59:59", "2026-03-02T18:00:00+08:00"),  # last second before the cutoff
        ("2026-03-02T12:00:00", "2026-03-03T12:00:00+08:00"),  # exactly 12:00 counts as afternoon
        ("2026-03-02T17:30:00", "2026-03-03T12:00:00+08:00"),
        ("2026-03-06T15:00:00", "2026-03-09T12:00:00+08:00"),  # Friday afternoon → Monday noon
        ("2026-03-07T10:00:00", "2026-03-09T18:00:00+08:00"),  # Saturday → end of Monday
    ],
)
def test_cutoff_and_next_workday(received: str, expected: str) -> None:
    assert due(received) == expected


# ---------------------------------------------------------------- holidays and 调休


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # 春节 2026: Friday afternoon before the holiday → the adjusted workday Saturday 02-14
        ("2026-02-13T15:00:00", "2026-02-14T12:00:00+08:00"),
        # material received on the adjusted Saturday morning is due that Saturday
        ("2026-02-14T09:00:00", "2026-02-14T18:00:00+08:00"),
        # afternoon of the adjusted Saturday → after the 9-day holiday (02-15..02-23)
        ("2026-02-14T14:00:00", "2026-02-24T12:00:00+08:00"),
        # received during 国庆+中秋 2025 (10-01..10-08) → end of the first day back
        ("2025-10-03T10:00:00", "2025-10-09T18:00:00+08:00"),
        # 2024-02-09 除夕 was a workday; the next one after it is Sunday 02-18 (调休)
        ("2024-02-09T10:00:00", "2024-02-09T18:00:00+08:00"),
        ("2024-02-09T15:00:00", "2024-02-18T12:00:00+08:00"),
        # 国庆 2026: 10-01..10-07 off, then Thursday 10-08; Saturday 10-10 is worked
        ("2026-09-30T15:00:00", "2026-10-08T12:00:00+08:00"),
        ("2026-10-05T10:00:00", "2026-10-08T18:00:00+08:00"),
        ("2026-10-09T15:00:00", "2026-10-10T12:00:00+08:00"),
    ],
)
def test_holidays_and_adjusted_workdays(received: str, expected: str) -> None:
    assert due(received) == expected


def test_calendar_matches_the_notices() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(date(2024, 2, 9))  # 除夕 2024, only "encouraged" rest
    assert cal.is_workday(date(2024, 2, 18))  # Sunday 调休
    assert cal.is_workday(date(2026, 2, 14))  # Saturday 调休
    assert not cal.is_workday(date(2026, 2, 16))  # 春节
    assert not cal.is_workday(date(2025, 10, 8))  # 国庆+中秋 8th day
    assert cal.next_workday(date(2026, 2, 14)) == date(2026, 2, 24)
    # Working-day counts from the State Council notices (court-domain.md §3).
    for year, expected in ((2024, 251), (2025, 248), (2026, 248)):
        days = (date(year, 1, 1) + timedelta(n) for n in range(366))
        assert sum(cal.is_workday(d) for d in days if d.year == year) == expected


# ---------------------------------------------------------------- urgent and configurable rules


def test_urgent_is_wall_clock_hours_any_day() -> None:
    assert due("2026-03-02T10:30:00", urgent=True) == "2026-03-02T12:30:00+08:00"
    # on a holiday night too: urgent ignores the calendar
    assert due("2026-02-16T23:00:00", urgent=True) == "2026-02-17T01:00:00+08:00"
    assert due("2026-03-02T10:30:00", urgent=True, rules=DeadlineRules(urgent_hours=4)) == ("2026-03-02T14:30:00+08:00")


def test_configurable_times() -> None:
    rules = DeadlineRules(cutoff=time(11, 0), end_of_day=time(17, 0), next_day_due=time(10, 0))
    assert due("2026-03-02T10:59:00", rules=rules) == "2026-03-02T17:00:00+08:00"
    assert due("2026-03-02T11:00:00", rules=rules) == "2026-03-03T10:00:00+08:00"
    assert due("2026-03-07T09:00:00", rules=rules) == "2026-03-09T17:00:00+08:00"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"urgent_hours": 0},
        {"urgent_hours": True},
        {"end_of_day": time(11, 0)},  # would make morning material due before it arrived
        {"tz": "Asia/Nowhere"},
    ],
)
def test_bad_rules_refused(kwargs: dict) -> None:
    with pytest.raises(AppError) as err:
        DeadlineRules(**kwargs)
    assert err.value.code == ErrorCode.SETTINGS_INVALID


# ---------------------------------------------------------------- years without the arrangement


def test_year_without_arrangement_is_provisional_not_refused() -> None:
    cal = WorkCalendar()
    assert cal.covered(2026) and not cal.covered(2027) and not cal.covered(2003)
    assert cal.year_basis(2026).basis is Basis.OFFICIAL and "chinese-calendar" in cal.year_basis(2026).source
    assert cal.year_basis(2027).basis is Basis.PROVISIONAL
    deadline = compute_deadline(parse_received("2027-03-01T10:00:00"))  # Monday morning → same day
    assert deadline.isoformat() == "2027-03-01T18:00:00+08:00"
    assert deadline.provisional and deadline.basis is Basis.PROVISIONAL and "放假办法" in deadline.source


def test_new_year_eve_afternoon_is_due_after_the_provisional_new_year() -> None:
    assert due("2026-12-31T11:00:00") == "2026-12-31T18:00:00+08:00"  # same day needs no 2027
    assert not compute_deadline(parse_received("2026-12-31T11:00:00")).provisional
    # 2027-01-01 (Fri) is 元旦 by the law, then the weekend → Monday 12:00, provisional
    deadline = compute_deadline(parse_received("2026-12-31T13:00"))
    assert deadline.isoformat() == "2027-01-04T12:00:00+08:00"
    assert deadline.provisional and deadline.label() == "2027-01-04T12:00:00+08:00（暂定）"
    assert deadline.source.startswith("2027 年：")
    assert deadline.to_dict() == {
        "due": "2027-01-04T12:00:00+08:00",
        "provisional": True,
        "basis": "provisional",
        "source": deadline.source,
    }


@pytest.mark.parametrize("text", ["2003-12-31T10:00", "2100-01-04T10:00", "1999-03-01T10:00+08:00"])
def test_years_outside_2004_to_2099_refused(text: str) -> None:
    with pytest.raises(AppError) as err:
        compute_deadline(parse_received(text))
    assert err.value.code == ErrorCode.CALENDAR_YEAR_OUT_OF_RANGE
    assert "2004–2099" in err.value.message
    with pytest.raises(AppError):
        WorkCalendar().is_workday(date(2003, 6, 2))  # a Monday, but before any data: never guessed
    with pytest.raises(AppError) as err:  # the search for the next workday stops at 2099 too
        compute_deadline(parse_received("2099-12-31T15:00"))
    assert err.value.params["year"] == 2100


def test_urgent_is_official_whatever_the_year() -> None:
    deadline = compute_deadline(parse_received("2027-02-06T10:00"), urgent=True)
    assert deadline.isoformat() == "2027-02-06T12:00:00+08:00" and not deadline.provisional


def test_override_year_covers_2027(tmp_path: Path) -> None:
    cal = WorkCalendar([write(tmp_path, OVERRIDE_2027)])
    assert cal.covered(2027)
    # 2027-01-01 (Fri) is a holiday, then the weekend → Monday 01-04
    assert compute_deadline(parse_received("2026-12-31T15:00"), calendar=cal).isoformat() == ("2027-01-04T12:00:00+08:00")
    assert cal.is_workday(date(2027, 2, 6))  # Saturday worked
    assert not cal.is_workday(date(2027, 2, 7))  # ordinary Sunday
    assert not cal.covered(2028)
    assert cal.year_basis(2027).source.endswith("（测试数据）")
    assert not compute_deadline(parse_received("2026-12-31T15:00"), calendar=cal).provisional


# ---------------------------------------------------------------- per-day overrides


def test_override_days_off_and_workdays(tmp_path: Path) -> None:
    path = write(tmp_path, 'days_off = ["2026-03-02"]\nworkdays = [2026-03-08]\n')  # bare TOML date too
    cal = WorkCalendar([path])
    assert not cal.is_workday(date(2026, 3, 2))
    assert cal.is_workday(date(2026, 3, 8))  # a Sunday made a workday
    received = parse_received("2026-03-02T10:00")
    assert compute_deadline(received, calendar=cal).isoformat() == "2026-03-03T18:00:00+08:00"
    # the default calendar is untouched by another calendar's file
    assert compute_deadline(received).isoformat() == "2026-03-02T18:00:00+08:00"


def test_later_file_wins_and_days_do_not_cover_a_year(tmp_path: Path) -> None:
    first = write(tmp_path, 'days_off = ["2026-03-02"]\n', "a.toml")
    second = write(tmp_path, 'workdays = ["2026-03-02"]\ndays_off = ["2027-03-01"]\n', "b.toml")
    cal = WorkCalendar([first, second])
    assert cal.is_workday(date(2026, 3, 2))
    assert not cal.covered(2027)  # a single day is not a State Council notice


def test_packaged_file_is_valid_and_empty() -> None:
    assert PACKAGED_OVERRIDES.is_file()
    assert WorkCalendar().sources == (PACKAGED_OVERRIDES,)
    assert WorkCalendar().is_workday(date(2026, 12, 31))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('days_off = ["2026-02-30"]', "2026-02-30"),  # no such day
        ('days_off = ["2026/03/02"]', "2026/03/02"),
        ('days_off = ["2026-03-02"]\nworkdays = ["2026-03-02"]', "2026-03-02"),  # both off and on
        ("day_off = []", "day_off"),  # misspelt key would silently do nothing
        ('days_off = "2026-03-02"', "days_off"),
        ("[years.2027]\nsource = 'x'\nholidays = ['2028-01-03']", "2028-01-03"),  # wrong year
        ("[years.2027]\nholidays = ['2027-01-01']", "source"),
        ("[years.27]\nsource = 'x'", "years.27"),
        ('[years.2027]\nsource = "x"\nholidays = ["2027-02-06"]\nworkdays = ["2027-02-06"]', "2027-02-06"),
        ("days_off = [", "TOML"),
    ],
)
def test_invalid_override_file_refused(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AppError) as err:
        WorkCalendar([path])
    assert err.value.code == ErrorCode.SETTINGS_INVALID
    assert needle in err.value.message and str(path) in err.value.message


def test_missing_override_file_refused(tmp_path: Path) -> None:
    with pytest.raises(AppError) as err:
        WorkCalendar([tmp_path / "absent.toml"])
    assert err.value.code == ErrorCode.SETTINGS_INVALID


# ---------------------------------------------------------------- parsing received times


def test_utc_input_converted_to_shanghai() -> None:
    assert due("2026-03-02T03:59:59Z") == "2026-03-02T18:00:00+08:00"  # 11:59:59 in Shanghai
    assert due("2026-03-02T04:00:00+00:00") == "2026-03-03T12:00:00+08:00"  # 12:00 in Shanghai
    # 2026-03-01 20:00 UTC is already Monday 04:00 in Shanghai, not Sunday
    received = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    result = compute_deadline(received)
    assert result.isoformat() == "2026-03-02T18:00:00+08:00"
    assert str(result.due.tzinfo) == "Asia/Shanghai"


def test_naive_input_is_shanghai_and_aware_is_kept() -> None:
    naive = parse_received("2026-03-02T10:30")
    assert str(naive.tzinfo) == "Asia/Shanghai" and naive.hour == 10
    aware = parse_received("2026-03-02T10:30+00:00")
    assert aware.utcoffset() == timedelta(0) and aware.hour == 10
    assert parse_received(" 2026-03-02 10:30:00 ").minute == 30


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-13-01T10:00", "2026-03-02T25:00", "2026-03-02"])
def test_invalid_text_refused(text: str) -> None:
    with pytest.raises(AppError) as err:
        parse_received(text)
    assert err.value.code == ErrorCode.DATETIME_INVALID
    assert err.value.params == {"text": text}


# ---------------------------------------------------------------- CLI


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # shared.cli imports edge/central CLIs that others may be editing; retry a broken import briefly.
    for _ in range(5):
        proc = subprocess.run(
            [sys.executable, "-P", "-m", "juanzong.shared.cli", "deadline", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if "Traceback" not in proc.stderr:
            return proc
        clock.sleep(3)
    return proc


def test_cli_prints_deadline() -> None:
    proc = run_cli("2026-02-13T15:00")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2026-02-14T12:00:00+08:00"
    proc = run_cli("2026-03-02T10:30", "--urgent")
    assert proc.stdout.strip() == "2026-03-02T12:30:00+08:00"


def test_cli_provisional_plain_and_json() -> None:
    proc = run_cli("2026-12-31T15:00")
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert first == "2027-01-04T12:00:00+08:00" and second.startswith("（暂定）")
    proc = run_cli("2026-12-31T15:00", "--json")
    assert json.loads(proc.stdout) == {
        "due": "2027-01-04T12:00:00+08:00",
        "provisional": True,
        "basis": "provisional",
        "source": json.loads(proc.stdout)["source"],
    }
    official = json.loads(run_cli("2026-02-13T15:00", "--json").stdout)
    assert official["due"] == "2026-02-14T12:00:00+08:00" and official["provisional"] is False
    assert official["basis"] == "official" and "chinese-calendar" in official["source"]


def test_cli_refuses_bad_years_and_text() -> None:
    proc = run_cli("2003-12-31T15:00")
    assert proc.returncode == 1 and "错误 CALENDAR_YEAR_OUT_OF_RANGE" in proc.stderr and "2003" in proc.stderr
    proc = run_cli("not-a-time")
    assert proc.returncode == 1 and "错误 DATETIME_INVALID" in proc.stderr
