"""Workdays (Chinese holidays and 调休) and the intake deadline rule.

The deadline rule is the court service contract, in Asia/Shanghai local time:

- received on a workday before the cutoff (strictly `< 12:00:00`) → due at the end of that day;
- received on a workday at or after the cutoff → due 12:00 on the next workday;
- received on a non-workday → due at the end of the next workday (as if received at 00:00 then);
- urgent (加急) → a fixed number of hours after receipt, wall-clock, whatever the day.

Workdays come from `chinese_calendar` (State Council notices, adjusted workdays count) with local
overrides layered on top (see `data/calendar_overrides.toml`). A year nobody has data for is refused
with CALENDAR_YEAR_UNCOVERED: a deadline computed from weekends alone would look right and be wrong
around every holiday, so we fail closed instead.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

import chinese_calendar

from juanzong.shared.errors import AppError, ErrorCode

PACKAGED_OVERRIDES = Path(__file__).parent / "data" / "calendar_overrides.toml"

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TOP_KEYS = frozenset({"days_off", "workdays", "years"})
_YEAR_KEYS = frozenset({"source", "holidays", "workdays"})


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


# ---------------------------------------------------------------- override file


@dataclass(frozen=True)
class YearTable:
    """A whole year from a State Council notice that the installed library lacks."""

    year: int
    source: str
    holidays: frozenset[date]  # weekdays that are off
    workdays: frozenset[date]  # weekend days that are worked (调休)

    def is_workday(self, day: date) -> bool:
        if day.weekday() < 5:
            return day not in self.holidays
        return day in self.workdays


@dataclass(frozen=True)
class CalendarOverrides:
    days: Mapping[date, bool]  # explicit per-day verdicts; True = workday
    years: Mapping[int, YearTable]


def load_overrides(path: Path) -> CalendarOverrides:
    """Read and validate one override file; any defect refuses the whole file."""
    data = _read_toml(path)
    _reject_unknown(data, _TOP_KEYS, path, "文件顶层")
    declared: dict[date, bool] = {}
    for day in _dates(data.get("days_off", []), path, "days_off"):
        _declare(declared, day, False, path)
    for day in _dates(data.get("workdays", []), path, "workdays"):
        _declare(declared, day, True, path)
    explicit = dict(declared)
    years: dict[int, YearTable] = {}
    for key, table in _table(data.get("years", {}), path, "years").items():
        year = _year_table(key, table, path)
        for day in year.holidays:
            _declare(declared, day, False, path)
        for day in year.workdays:
            _declare(declared, day, True, path)
        years[year.year] = year
    return CalendarOverrides(MappingProxyType(explicit), MappingProxyType(years))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as err:
        raise _invalid(f"{path}：无法读取（{err.strerror or err}）") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise _invalid(f"{path}：TOML 格式错误（{err}）") from err


def _reject_unknown(table: Mapping[str, Any], allowed: frozenset[str], path: Path, where: str) -> None:
    # A misspelt key (`day_off`) would otherwise be ignored and the closure silently not applied.
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _invalid(f"{path}：{where}有未知的项 {', '.join(unknown)}（可用：{', '.join(sorted(allowed))}）")


def _table(value: Any, path: Path, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{path}：{where} 应为表")
    return value


def _dates(value: Any, path: Path, where: str) -> list[date]:
    if not isinstance(value, list):
        raise _invalid(f"{path}：{where} 应为日期列表，如 [\"2026-12-31\"]")
    return [_one_date(item, path, where) for item in value]


def _one_date(item: Any, path: Path, where: str) -> date:
    if isinstance(item, date) and not isinstance(item, datetime):
        return item  # a bare TOML date
    if isinstance(item, str) and _ISO_DAY.fullmatch(item):
        try:
            return date.fromisoformat(item)
        except ValueError:
            pass
    raise _invalid(f"{path}：{where} 中的“{item}”不是有效日期（应为 YYYY-MM-DD）")


def _declare(declared: dict[date, bool], day: date, workday: bool, path: Path) -> None:
    if declared.get(day, workday) != workday:
        raise _invalid(f"{path}：日期 {day} 同时被列为休息日和工作日")
    declared[day] = workday


def _year_table(key: str, table: Any, path: Path) -> YearTable:
    where = f"[years.{key}]"
    if not re.fullmatch(r"\d{4}", key):
        raise _invalid(f"{path}：{where} 的年份应为四位数字")
    table = _table(table, path, where)
    _reject_unknown(table, _YEAR_KEYS, path, where)
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        # Provenance is how a court checks the data was copied, not guessed.
        raise _invalid(f"{path}：{where} 缺少 source（所依据的国务院办公厅通知）")
    year = int(key)
    holidays = _dates(table.get("holidays", []), path, f"{where} holidays")
    workdays = _dates(table.get("workdays", []), path, f"{where} workdays")
    for day in (*holidays, *workdays):
        if day.year != year:
            raise _invalid(f"{path}：{where} 中的日期 {day} 不属于 {year} 年")
    return YearTable(year, source.strip(), frozenset(holidays), frozenset(workdays))


def _merge(layers: Sequence[CalendarOverrides]) -> CalendarOverrides:
    # Later files win: the appliance's own file is read after the packaged one.
    days: dict[date, bool] = {}
    years: dict[int, YearTable] = {}
    for layer in layers:
        days.update(layer.days)
        years.update(layer.years)
    return CalendarOverrides(MappingProxyType(days), MappingProxyType(years))


# ---------------------------------------------------------------- calendar


@lru_cache(maxsize=None)
def _library_covers(year: int) -> bool:
    if not MINYEAR <= year <= MAXYEAR:
        return False
    try:
        chinese_calendar.is_workday(date(year, 1, 1))  # the library's coverage is whole years
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    """Workdays from chinese_calendar, the packaged override file, then `override_paths` in order.

    Precedence for a day: a per-day override, then a `[years.N]` table, then the library; a
    `[years.N]` table replaces the library for that year, so a local correction always wins.
    """

    def __init__(self, override_paths: Sequence[Path] = ()) -> None:
        self.sources: tuple[Path, ...] = (PACKAGED_OVERRIDES, *(Path(p) for p in override_paths))
        self._overrides = _merge([load_overrides(p) for p in self.sources])

    def covered(self, year: int) -> bool:
        return year in self._overrides.years or _library_covers(year)

    def is_workday(self, day: date) -> bool:
        if isinstance(day, datetime):
            # The date of an aware datetime depends on its zone; callers convert first.
            raise TypeError("is_workday() takes a date, not a datetime")
        if not self.covered(day.year):
            raise AppError(ErrorCode.CALENDAR_YEAR_UNCOVERED, year=day.year)
        verdict = self._overrides.days.get(day)
        if verdict is not None:
            return verdict
        table = self._overrides.years.get(day.year)
        if table is not None:
            return table.is_workday(day)
        return bool(chinese_calendar.is_workday(day))

    def next_workday(self, day: date) -> date:
        """The first workday strictly after `day`; refuses if the search leaves the data."""
        candidate = day + timedelta(days=1)
        # Terminates: covered years are finite, and is_workday raises at the first uncovered one.
        while not self.is_workday(candidate):
            candidate += timedelta(days=1)
        return candidate


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


def compute_deadline(
    received: datetime,
    *,
    urgent: bool = False,
    rules: DeadlineRules | None = None,
    calendar: WorkCalendar | None = None,
) -> datetime:
    """Due time for material received at `received`, aware and in `rules.tz`."""
    rules = rules if rules is not None else DeadlineRules()
    zone = rules.zone
    if not isinstance(received, datetime):
        raise TypeError("compute_deadline() takes a datetime")
    local = received.replace(tzinfo=zone) if received.tzinfo is None else received.astimezone(zone)
    if urgent:
        return local + timedelta(hours=rules.urgent_hours)  # aware + timedelta is wall-clock
    calendar = calendar if calendar is not None else default_calendar()
    day = local.date()
    if not calendar.is_workday(day):
        return datetime.combine(calendar.next_workday(day), rules.end_of_day, tzinfo=zone)
    if local.time() < rules.cutoff:
        return datetime.combine(day, rules.end_of_day, tzinfo=zone)
    return datetime.combine(calendar.next_workday(day), rules.next_day_due, tzinfo=zone)
