"""Calendar files: the override format, validated as a whole, with the offending line named.

One format serves the packaged file, an appliance's `<home>/calendar_overrides.toml` and the
official arrangements imported with `edge calendar import`::

    days_off = ["2026-12-30"]            # per-day corrections (a court's local closure …)
    workdays = []
    [years.2027]                         # a whole year from the State Council notice
    source = "国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕N号）"
    holidays = ["2027-01-01", …]         # weekdays that are off
    workdays = ["2027-02-20", …]         # weekend days that are worked (调休)

Any defect refuses the whole file (`FileProblem` → an AppError naming the file and line);
nothing is ever half-applied.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TOP_KEYS = frozenset({"days_off", "workdays", "years"})
_YEAR_KEYS = frozenset({"source", "holidays", "workdays"})
_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class YearTable:
    """A whole year of workdays: weekdays work except `holidays`, weekends rest except `workdays`."""

    year: int
    source: str
    holidays: frozenset[date]  # weekdays that are off
    workdays: frozenset[date]  # weekend days that are worked (调休)

    def is_workday(self, day: date) -> bool:
        if day.weekday() < 5:
            return day not in self.holidays
        return day in self.workdays

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "source": self.source,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> YearTable:
        return cls(
            int(data["year"]),
            str(data["source"]),
            frozenset(date.fromisoformat(d) for d in data["holidays"]),
            frozenset(date.fromisoformat(d) for d in data["workdays"]),
        )


@dataclass(frozen=True)
class CalendarOverrides:
    days: Mapping[date, bool]  # explicit per-day verdicts; True = workday
    years: Mapping[int, YearTable]


class FileProblem(Exception):
    """A defect in a calendar file: what is wrong, and the line it is on (None when unknown)."""

    def __init__(self, detail: str, line: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.line = line


@dataclass(frozen=True)
class _Text:
    """The file's lines, to name where a defect is (tomllib keeps no positions)."""

    lines: tuple[str, ...]

    def line_of(self, table: str | None = None, key: str | None = None, value: str | None = None) -> int | None:
        current_table: str | None = None
        current_key: str | None = None
        for n, raw in enumerate(self.lines, 1):
            text = raw.strip()
            header = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]\s*(#.*)?", text)
            if header:
                current_table, current_key = re.sub(r"[\s\"']", "", header.group(1)), None
                if current_table == table and key is None and value is None:
                    return n
                continue
            assignment = re.match(r"([A-Za-z_][\w-]*)\s*=", text)
            if assignment:
                current_key = assignment.group(1)
            if current_table != table or (key is not None and current_key != key):
                continue
            if value is None:
                if assignment and current_key == key:
                    return n
            elif value in raw.split("#", 1)[0]:
                return n
        return None


def parse_calendar_file(path: Path) -> CalendarOverrides:
    """Read and validate one calendar file; raises FileProblem at the first defect."""
    raw = _read_bytes(path)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise FileProblem("不是 UTF-8 编码的文本") from err
    except tomllib.TOMLDecodeError as err:
        raise FileProblem(f"TOML 格式错误（{err}）", _toml_line(err, raw)) from err
    text = _Text(tuple(raw.decode("utf-8").splitlines()))
    return _overrides(data, text)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise FileProblem(f"无法读取（{err.strerror or err}）") from err


def _toml_line(err: tomllib.TOMLDecodeError, raw: bytes) -> int | None:
    found = re.search(r"line (\d+)", str(err))
    if found:
        return int(found.group(1))
    if "end of document" in str(err):
        return max(1, len(raw.decode("utf-8").splitlines()))
    return None


def _overrides(data: dict[str, Any], text: _Text) -> CalendarOverrides:
    _reject_unknown(data, _TOP_KEYS, "文件顶层", text, None)
    declared: dict[date, tuple[bool, str]] = {}
    for day in _dates(data.get("days_off", []), text, None, "days_off"):
        _declare(declared, day, False, text, None, "days_off")
    for day in _dates(data.get("workdays", []), text, None, "workdays"):
        _declare(declared, day, True, text, None, "workdays")
    explicit = {day: verdict for day, (verdict, _) in declared.items()}
    years: dict[int, YearTable] = {}
    for key, table in _table(data.get("years", {}), "years", text, None).items():
        year = _year_table(str(key), table, text)
        table_name = f"years.{key}"
        for day in year.holidays:
            _declare(declared, day, False, text, table_name, "holidays")
        for day in year.workdays:
            _declare(declared, day, True, text, table_name, "workdays")
        years[year.year] = year
    return CalendarOverrides(MappingProxyType(explicit), MappingProxyType(years))


def _reject_unknown(table: Mapping[str, Any], allowed: frozenset[str], where: str, text: _Text, name: str | None) -> None:
    # A misspelt key (`day_off`) would otherwise be ignored and the closure silently not applied.
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise FileProblem(f"{where}有未知的项 {', '.join(unknown)}（可用：{', '.join(sorted(allowed))}）", text.line_of(name, unknown[0]))


def _table(value: Any, where: str, text: _Text, name: str | None) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise FileProblem(f"{where} 应为表", text.line_of(name, where.rsplit(".", 1)[-1]))
    return value


def _dates(value: Any, text: _Text, table: str | None, key: str) -> list[date]:
    where = key if table is None else f"[{table}] {key}"
    if not isinstance(value, list):
        raise FileProblem(f'{where} 应为日期列表，如 ["2026-12-31"]', text.line_of(table, key))
    return [_one_date(item, text, table, key, where) for item in value]


def _one_date(item: Any, text: _Text, table: str | None, key: str, where: str) -> date:
    if isinstance(item, date) and not isinstance(item, datetime):
        return item  # a bare TOML date
    if isinstance(item, str) and _ISO_DAY.fullmatch(item):
        try:
            return date.fromisoformat(item)
        except ValueError:
            pass
    raise FileProblem(f"{where} 中的“{item}”不是有效日期（应为 YYYY-MM-DD）", text.line_of(table, key, str(item)))


def _declare(declared: dict[date, tuple[bool, str]], day: date, workday: bool, text: _Text, table: str | None, key: str) -> None:
    before = declared.get(day)
    if before is not None and before[0] != workday:
        raise FileProblem(f"日期 {day} 同时被列为休息日和工作日（另见 {before[1]}）", text.line_of(table, key, day.isoformat()))
    declared[day] = (workday, key if table is None else f"[{table}] {key}")


def _year_table(key: str, table: Any, text: _Text) -> YearTable:
    name = f"years.{key}"
    where = f"[{name}]"
    if not re.fullmatch(r"\d{4}", key):
        raise FileProblem(f"{where} 的年份应为四位数字", text.line_of(name))
    table = _table(table, where, text, None)
    _reject_unknown(table, _YEAR_KEYS, where, text, name)
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        # Provenance is how a court checks the data was copied, not guessed.
        raise FileProblem(f"{where} 缺少 source（所依据的国务院办公厅通知）", text.line_of(name))
    year = int(key)
    holidays = _dates(table.get("holidays", []), text, name, "holidays")
    workdays = _dates(table.get("workdays", []), text, name, "workdays")
    for field, days in (("holidays", holidays), ("workdays", workdays)):
        for day in days:
            _in_year(year, field, day, text, name)
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise FileProblem(
            f"[{name}] 日期 {both[0]} 同时被列为放假（holidays）和上班（workdays）", text.line_of(name, "workdays", both[0].isoformat())
        )
    for field, days in (("holidays", holidays), ("workdays", workdays)):
        for day in days:
            _weekday_fits(field, day, text, name)
    return YearTable(year, source.strip(), frozenset(holidays), frozenset(workdays))


def _in_year(year: int, field: str, day: date, text: _Text, name: str) -> None:
    if day.year != year:
        raise FileProblem(f"[{name}] {field} 中的日期 {day} 不属于 {year} 年", text.line_of(name, field, day.isoformat()))


def _weekday_fits(field: str, day: date, text: _Text, name: str) -> None:
    line = text.line_of(name, field, day.isoformat())
    weekday = f"星期{_WEEKDAYS[day.weekday()]}"
    if field == "holidays" and day.weekday() >= 5:
        raise FileProblem(f"[{name}] holidays 中的 {day} 是{weekday}，本来就休息；holidays 只列放假的周一至周五", line)
    if field == "workdays" and day.weekday() < 5:
        raise FileProblem(f"[{name}] workdays 中的 {day} 是{weekday}，本来就上班；workdays 只列调休上班的周六、周日", line)
