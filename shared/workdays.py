"""Workdays (Chinese holidays and 调休) and the intake deadline rule.

The deadline rule is the court service contract, in Asia/Shanghai local time:

- received on a workday before the cutoff (strictly `< 12:00:00`) → due at the end of that day;
- received on a workday at or after the cutoff → due 12:00 on the next workday;
- received on a non-workday → due at the end of the next workday (as if received at 00:00 then);
- urgent (加急) → a fixed number of hours after receipt, wall-clock, whatever the day.

Each year has a basis. *Official*: the State Council's arrangement, from `chinese_calendar` or
from a `[years.N]` table (packaged file, `<home>/calendar_overrides.toml`, or an arrangement
imported on the appliance). *Provisional*: a year nobody has the arrangement for yet gets the
holiday law's statutory days and make-up days (`shared.holiday_law`). A handover is never refused
for lack of holiday data; a deadline that consulted a provisional year says so (`Deadline.basis`)
and is shown （暂定） until the arrangement is imported. Only years outside 2004–2099 are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

from juanzong.shared.calendar_file import CalendarOverrides, FileProblem, YearTable, parse_calendar_file
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.holiday_law import LAW, provisional_days_off

PACKAGED_OVERRIDES = Path(__file__).parent / "data" / "calendar_overrides.toml"

FIRST_YEAR, LAST_YEAR = 2004, 2099  # chinese_calendar's first year; the law may change by 2100
CLOCK_SKEW = timedelta(minutes=5)  # a received time this far ahead of the clock is still accepted
LATE_ENTRY = timedelta(days=3)  # older than this is accepted as 补登 (late entry), with a warning
PROVISIONAL_SOURCE = f"按{LAW}推算的法定节假日及补假（国务院办公厅放假安排尚未导入）"


# ---------------------------------------------------------------- rules


@dataclass(frozen=True)
class DeadlineRules:
    cutoff: time = time(12, 0)  # before this → same day
    end_of_day: time = time(18, 0)  # "same day" due time
    next_day_due: time = time(12, 0)  # due time on the next workday
    urgent_hours: int = 2
    tz: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        _check_rules(self)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.tz)


def _check_rules(rules: DeadlineRules) -> None:
    for name in ("cutoff", "end_of_day", "next_day_due"):
        value = getattr(rules, name)
        # An aware time would silently mix zones with `tz`; local wall-clock times only.
        if not isinstance(value, time) or value.tzinfo is not None:
            raise _invalid(f"办理时限设置 {name} 应为不带时区的时间，实际为“{value!r}”")
    if rules.end_of_day < rules.cutoff:
        # Otherwise material received just before the cutoff would be due before it arrived.
        raise _invalid(f"当日截止时间 {rules.end_of_day} 早于上午收件截止时间 {rules.cutoff}")
    hours = rules.urgent_hours
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise _invalid(f"加急时限 urgent_hours 应为正整数（小时），实际为“{hours!r}”")
    _zone(rules.tz)


@lru_cache(maxsize=8)
def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError, TypeError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise _invalid(f"未知时区“{tz}”") from err


def _invalid(detail: str) -> AppError:
    return AppError(ErrorCode.SETTINGS_INVALID, detail=detail)


# ---------------------------------------------------------------- year basis


class Basis(StrEnum):
    OFFICIAL = "official"  # the State Council's arrangement
    PROVISIONAL = "provisional"  # the holiday law alone, until the arrangement is imported


@dataclass(frozen=True)
class YearBasis:
    year: int
    basis: Basis
    source: str

    @property
    def provisional(self) -> bool:
        return self.basis is Basis.PROVISIONAL

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "basis": str(self.basis), "provisional": self.provisional, "source": self.source}


def require_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise AppError(ErrorCode.CALENDAR_YEAR_OUT_OF_RANGE, year=year, first=FIRST_YEAR, last=LAST_YEAR)


def load_overrides(path: Path) -> CalendarOverrides:
    """Read and validate one override file; any defect refuses the whole file (SETTINGS_INVALID)."""
    try:
        return parse_calendar_file(path)
    except FileProblem as problem:
        where = f"{path}：第 {problem.line} 行" if problem.line else f"{path}"
        raise _invalid(f"{where}：{problem.detail}") from problem


def _merge(layers: Sequence[CalendarOverrides]) -> CalendarOverrides:
    # Later files win: the appliance's own file is read after the packaged one.
    days: dict[date, bool] = {}
    years: dict[int, YearTable] = {}
    for layer in layers:
        days.update(layer.days)
        years.update(layer.years)
    return CalendarOverrides(MappingProxyType(days), MappingProxyType(years))


# ---------------------------------------------------------------- calendar


@cache
def _library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))  # the library's coverage is whole years
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=1)
def library_source() -> str:
    return f"chinese-calendar {chinese_calendar.__version__}（国务院办公厅部分节假日安排通知）"


@cache
def provisional_year(year: int) -> YearTable:
    """The holiday law's year: statutory weekdays off and make-up days, no swapped workdays."""
    require_year(year)
    return YearTable(year, PROVISIONAL_SOURCE, provisional_days_off(year), frozenset())


class WorkCalendar:
    """Workdays from chinese_calendar, the packaged override file, `override_paths` in order, then
    `imported` year tables (arrangements imported on the appliance), else the holiday law.

    Precedence for a day: a per-day override, then a `[years.N]` table (an imported one over a
    file's), then the library, then the provisional year. Years outside 2004–2099 are refused.
    """

    def __init__(self, override_paths: Sequence[Path] = (), imported: Sequence[YearTable] = ()) -> None:
        self.sources: tuple[Path, ...] = (PACKAGED_OVERRIDES, *(Path(p) for p in override_paths))
        merged = _merge([load_overrides(p) for p in self.sources])
        years = {**merged.years, **{t.year: t for t in imported}}
        self._overrides = CalendarOverrides(merged.days, MappingProxyType(years))

    def year_basis(self, year: int) -> YearBasis:
        require_year(year)
        table = self._overrides.years.get(year)
        if table is not None:
            return YearBasis(year, Basis.OFFICIAL, table.source)
        if _library_covers(year):
            return YearBasis(year, Basis.OFFICIAL, library_source())
        return YearBasis(year, Basis.PROVISIONAL, PROVISIONAL_SOURCE)

    def covered(self, year: int) -> bool:
        """True when the year's official arrangement is known (not provisional)."""
        return FIRST_YEAR <= year <= LAST_YEAR and not self.year_basis(year).provisional

    def is_workday(self, day: date) -> bool:
        if isinstance(day, datetime):
            # The date of an aware datetime depends on its zone; callers convert first.
            raise TypeError("is_workday() takes a date, not a datetime")
        require_year(day.year)
        verdict = self._overrides.days.get(day)
        if verdict is not None:
            return verdict
        table = self._overrides.years.get(day.year)
        if table is not None:
            return table.is_workday(day)
        if _library_covers(day.year):
            return bool(chinese_calendar.is_workday(day))
        return provisional_year(day.year).is_workday(day)

    def next_workday(self, day: date) -> date:
        """The first workday strictly after `day` (refused past 2099)."""
        candidate = day + timedelta(days=1)
        # Terminates: every year has workdays, and is_workday refuses past LAST_YEAR.
        while not self.is_workday(candidate):
            candidate += timedelta(days=1)
        return candidate

    def years_report(self, today: date) -> list[YearBasis]:
        """Next year, then the current one back to 2004: what `calendar status` lists."""
        last = min(today.year + 1, LAST_YEAR)
        return [self.year_basis(y) for y in range(last, FIRST_YEAR - 1, -1)]


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The packaged calendar, built on first use (never at import time)."""
    return WorkCalendar()


# ---------------------------------------------------------------- deadline


def parse_received(text: str, tz: str = "Asia/Shanghai") -> datetime:
    """ISO 8601 date-time; a naive one is local time in `tz`, an aware one is kept as given."""
    zone = _zone(tz)
    cleaned = text.strip() if isinstance(text, str) else ""
    if _is_date_only(cleaned):
        # A bare date cannot be placed before or after the 12:00 cutoff.
        raise AppError(ErrorCode.DATETIME_INVALID, text=text)
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError as err:
        raise AppError(ErrorCode.DATETIME_INVALID, text=text) from err
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _is_date_only(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Deadline:
    """A due time and what it rests on: provisional when any year it consulted is provisional."""

    due: datetime
    basis: Basis
    source: str

    @property
    def provisional(self) -> bool:
        return self.basis is Basis.PROVISIONAL

    def isoformat(self) -> str:
        return self.due.isoformat()

    def label(self) -> str:
        """The ISO due time, with （暂定） when provisional (what a person reads)."""
        return self.due.isoformat() + ("（暂定）" if self.provisional else "")

    def to_dict(self) -> dict[str, Any]:
        return {"due": self.due.isoformat(), "provisional": self.provisional, "basis": str(self.basis), "source": self.source}


def compute_deadline(
    received: datetime,
    *,
    urgent: bool = False,
    rules: DeadlineRules | None = None,
    calendar: WorkCalendar | None = None,
) -> Deadline:
    """Due time for material received at `received` (aware, in `rules.tz`) and its basis."""
    rules = rules if rules is not None else DeadlineRules()
    zone = rules.zone
    if not isinstance(received, datetime):
        raise TypeError("compute_deadline() takes a datetime")
    local = received.replace(tzinfo=zone) if received.tzinfo is None else received.astimezone(zone)
    require_year(local.year)
    if urgent:
        due = local + timedelta(hours=rules.urgent_hours)  # aware + timedelta is wall-clock
        return Deadline(due, Basis.OFFICIAL, f"加急：收件后 {rules.urgent_hours} 小时，与节假日安排无关")
    calendar = calendar if calendar is not None else default_calendar()
    due = _due(local, rules, calendar)
    # Every day from receipt to the due day was consulted: their years decide the basis.
    return _with_basis(due, [calendar.year_basis(y) for y in range(local.year, due.year + 1)])


def _due(local: datetime, rules: DeadlineRules, calendar: WorkCalendar) -> datetime:
    zone = rules.zone
    day = local.date()
    if not calendar.is_workday(day):
        return datetime.combine(calendar.next_workday(day), rules.end_of_day, tzinfo=zone)
    if local.time() < rules.cutoff:
        return datetime.combine(day, rules.end_of_day, tzinfo=zone)
    return datetime.combine(calendar.next_workday(day), rules.next_day_due, tzinfo=zone)


def _with_basis(due: datetime, years: list[YearBasis]) -> Deadline:
    provisional = [y for y in years if y.provisional]
    shown = provisional or years
    if len(years) == 1:
        return Deadline(due, years[0].basis, years[0].source)
    source = "；".join(f"{y.year} 年：{y.source}" for y in shown)
    return Deadline(due, Basis.PROVISIONAL if provisional else Basis.OFFICIAL, source)


# ---------------------------------------------------------------- received time


def check_received(received: datetime, now: datetime, *, skew: timedelta = CLOCK_SKEW) -> list[str]:
    """Refuse a received time in the future; warn (补登) about one more than 3 days old.

    `now` is the caller's clock (injected, so nothing here depends on today's date)."""
    if received.tzinfo is None or now.tzinfo is None:
        raise TypeError("check_received() takes aware datetimes")
    require_year(received.astimezone(_zone("Asia/Shanghai")).year)
    if received - now > skew:
        raise AppError(ErrorCode.RECEIVED_IN_FUTURE, received=_minute(received), now=_minute(now))
    if now - received > LATE_ENTRY:
        return [f"补登：收件时间 {_minute(received)} 早于登记时间 {_minute(now)} 三天以上，请核实"]
    return []


def _minute(moment: datetime) -> str:
    return moment.astimezone(_zone("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- listing years


def print_years(years: Sequence[YearBasis], *, as_json: bool) -> None:
    """What `calendar status` prints: one line per year, newest first."""
    if as_json:
        import json

        print(json.dumps([y.to_dict() for y in years], ensure_ascii=False, indent=2))
        return
    for y in years:
        label = "暂定" if y.provisional else "正式"
        print(f"{y.year} 年  {label}  {y.source}")


def calendar_warnings(calendar: WorkCalendar, today: date, command: str) -> list[str]:
    """Chinese warnings for the screen: this year not official, or (from 1 November) next year not.

    `today` comes from the caller's clock; `command` is how to import an arrangement here."""
    years = [today.year] + ([today.year + 1] if today.month >= 11 else [])
    return [
        f"{y} 年放假安排尚未导入，{y} 年的办理时限为暂定。收到国务院办公厅通知后请导入：{command}"
        for y in years
        if FIRST_YEAR <= y <= LAST_YEAR and calendar.year_basis(y).provisional
    ]
