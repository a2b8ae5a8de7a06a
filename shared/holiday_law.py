"""A provisional year: the statutory holidays of the holiday law, computed offline.

《全国年节及纪念日放假办法》 (fourth revision 2024-11-10, in force 2025-01-01), 第二条 fixes
the holidays for all citizens (13 days):

- 元旦 1 Jan; 春节 农历除夕 and 正月初一 to 初三; 清明 the solar-term day; 劳动节 1–2 May;
  端午 农历五月初五; 中秋 农历八月十五; 国庆 1–3 Oct;

and 第六条: a holiday for all citizens that falls on a Saturday or Sunday is made up on the
following workday(s) (补假). A holiday on a day already off for another holiday (中秋 on 1–3 Oct,
or on 国庆's make-up day) is made up too, as the State Council did in 2020.

This is what is certain before the State Council publishes the year's arrangement; the
arrangement then adds bridge days and swapped weekend workdays (调休), which cannot be derived.
A deadline computed from a provisional year is therefore marked （暂定） and recomputed when
the arrangement is imported. Lunar dates and 清明 come from lunar-python (MIT), offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

LAW = "《全国年节及纪念日放假办法》（2024年修订）"


@dataclass(frozen=True)
class Festival:
    name: str
    days: tuple[date, ...]  # the statutory days off, in order


def statutory_festivals(year: int) -> tuple[Festival, ...]:
    """The law's holidays of `year`, in date order."""
    spring = _lunar(year, 1, 1)
    return tuple(
        sorted(
            (
                Festival("元旦", (date(year, 1, 1),)),
                Festival("春节", tuple(spring + timedelta(days=n) for n in range(-1, 3))),  # 除夕 to 初三
                Festival("清明", (_qingming(year),)),
                Festival("劳动节", (date(year, 5, 1), date(year, 5, 2))),
                Festival("端午", (_lunar(year, 5, 5),)),
                Festival("中秋", (_lunar(year, 8, 15),)),
                Festival("国庆", tuple(date(year, 10, d) for d in (1, 2, 3))),
            ),
            key=lambda f: f.days[0],
        )
    )


@cache
def provisional_days_off(year: int) -> frozenset[date]:
    """Weekdays off in a provisional year: statutory weekdays plus make-up days (补假)."""
    off: set[date] = set()
    seen: set[date] = set()
    for festival in statutory_festivals(year):
        owed = 0
        for day in festival.days:
            if day.weekday() >= 5 or day in seen or day in off:
                owed += 1  # on a weekend, or already another holiday or make-up day
            else:
                off.add(day)
            seen.add(day)
        _make_up(off, seen, festival.days[-1], owed)
    return frozenset(off)


def _make_up(off: set[date], seen: set[date], after: date, owed: int) -> None:
    day = after
    while owed > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in off and day not in seen:
            off.add(day)
            owed -= 1


def _lunar(year: int, month: int, day: int) -> date:
    from lunar_python import Lunar  # imported on first use: ~6 ms, and only for provisional years

    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> date:
    from lunar_python import Lunar

    solar = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    return date(solar.getYear(), solar.getMonth(), solar.getDay())
