"""Provisional years from the holiday law, checked against an independent oracle (sxtwl, tests only)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import sxtwl

from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.holiday_law import provisional_days_off, statutory_festivals
from juanzong.shared.workdays import WorkCalendar, check_received, compute_deadline, parse_received

TZ = ZoneInfo("Asia/Shanghai")


def festival(year: int, name: str) -> tuple[date, ...]:
    return next(f.days for f in statutory_festivals(year) if f.name == name)


def oracle_lunar(year: int, month: int, day: int) -> date:
    d = sxtwl.fromLunar(year, month, day)
    return date(d.getSolarYear(), d.getSolarMonth(), d.getSolarDay())


def oracle_qingming(year: int) -> date:
    # sxtwl's day-level solar terms (Beijing time); 清明 is term index 7 (冬至 = 0)
    days = [d for d in range(1, 10) if sxtwl.fromSolar(year, 4, d).hasJieQi() and sxtwl.fromSolar(year, 4, d).getJieQi() == 7]
    assert len(days) == 1
    return date(year, 4, days[0])


@pytest.mark.parametrize("year", range(2027, 2051))
def test_lunar_dates_and_qingming_match_the_oracle(year: int) -> None:
    spring = oracle_lunar(year, 1, 1)
    assert festival(year, "春节") == tuple(spring + timedelta(days=n) for n in range(-1, 3))  # 除夕 to 初三
    assert festival(year, "端午") == (oracle_lunar(year, 5, 5),)
    assert festival(year, "中秋") == (oracle_lunar(year, 8, 15),)
    assert festival(year, "清明") == (oracle_qingming(year),)
    assert sum(len(f.days) for f in statutory_festivals(year)) == 13  # the law's 13 days


def test_2027_as_the_issue_states() -> None:
    assert festival(2027, "元旦") == (date(2027, 1, 1),)  # Friday
    assert festival(2027, "春节")[0] == date(2027, 2, 5)  # 除夕, Friday
    assert festival(2027, "清明") == (date(2027, 4, 5),)  # Monday
    assert festival(2027, "端午") == (date(2027, 6, 9),)  # Wednesday
    assert festival(2027, "中秋") == (date(2027, 9, 15),)  # Wednesday
    off = provisional_days_off(2027)
    # 补假: 初一/初二 (Sat/Sun) → Tue 02-09, Wed 02-10; 05-01/02 (Sat/Sun) → Mon/Tue; 10-02/03 → Mon/Tue
    assert sorted(off) == [
        date(2027, m, d)
        for m, d in ((1, 1), (2, 5), (2, 8), (2, 9), (2, 10), (4, 5), (5, 3), (5, 4), (6, 9), (9, 15), (10, 1), (10, 4), (10, 5))
    ]


def test_make_up_days_follow_weekend_holidays() -> None:
    # 2028: 元旦 on a Saturday → Monday 01-03; 端午 Sunday 05-28 → Monday 05-29;
    # 国庆 10-01 is a Sunday and 中秋 falls on 10-03 (two holidays in one day) → 10-04 and 10-05
    off = provisional_days_off(2028)
    assert date(2028, 1, 3) in off and date(2028, 5, 29) in off
    assert {date(2028, 10, d) for d in (2, 3, 4, 5)} <= off and date(2028, 10, 6) not in off
    cal = WorkCalendar()
    assert not cal.is_workday(date(2028, 1, 3)) and cal.is_workday(date(2028, 1, 4))
    for year in range(2027, 2051):  # every statutory day off; weekdays off = statutory + make-up only
        days = provisional_days_off(year)
        assert all(d.weekday() < 5 and d.year == year for d in days)
        statutory = {d for f in statutory_festivals(year) for d in f.days}
        made_up = days - statutory
        owed = sum(1 for d in statutory if d.weekday() >= 5) + (13 - len(statutory))
        assert len(made_up) == owed


@pytest.mark.parametrize("year", [2025, 2026])
def test_provisional_days_off_are_off_in_the_real_arrangements(year: int) -> None:
    # What the law fixes is certainly off; the notices only add bridge days and swaps.
    for day in provisional_days_off(year):
        assert not chinese_calendar.is_workday(day), day


def test_provisional_deadlines_around_2027_holidays() -> None:
    def due(text: str) -> str:
        return compute_deadline(parse_received(text)).label()

    assert due("2027-02-04T15:00") == "2027-02-11T12:00:00+08:00（暂定）"  # 春节 02-05..02-10
    assert due("2027-04-02T15:00") == "2027-04-06T12:00:00+08:00（暂定）"  # 清明 Monday
    assert due("2027-09-30T15:00") == "2027-10-06T12:00:00+08:00（暂定）"  # 国庆 + 补假
    assert due("2027-06-08T13:00") == "2027-06-10T12:00:00+08:00（暂定）"  # 端午 Wednesday


# ---------------------------------------------------------------- received time against an injected clock


NOW = datetime(2026, 12, 31, 13, 0, tzinfo=TZ)


def test_received_in_the_future_refused() -> None:
    assert check_received(NOW + timedelta(minutes=5), NOW) == []  # clock skew tolerated
    with pytest.raises(AppError) as err:
        check_received(NOW + timedelta(minutes=6), NOW)
    assert err.value.code == ErrorCode.RECEIVED_IN_FUTURE
    assert "2026-12-31 13:06" in err.value.message and "设备时钟" in err.value.message


def test_received_long_ago_is_a_late_entry_with_a_warning() -> None:
    assert check_received(NOW - timedelta(days=3), NOW) == []
    (warning,) = check_received(NOW - timedelta(days=3, minutes=1), NOW)
    assert warning.startswith("补登") and "2026-12-28 12:59" in warning


def test_received_year_out_of_range_refused() -> None:
    with pytest.raises(AppError) as err:
        check_received(datetime(2003, 12, 31, 10, 0, tzinfo=TZ), NOW)
    assert err.value.code == ErrorCode.CALENDAR_YEAR_OUT_OF_RANGE


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_chinese_calendar_agrees_with_lunar_python_notice_data(year: int) -> None:
    # Two independent copies of the State Council notices: every day off / adjusted workday agrees.
    from lunar_python.util import HolidayUtil

    for holiday in HolidayUtil.getHolidays(year):
        day = date.fromisoformat(holiday.getDay())
        assert chinese_calendar.is_workday(day) == holiday.isWork(), day
