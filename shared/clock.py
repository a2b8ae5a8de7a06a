"""Time, from one place: every "now" on both sides comes from `now()`.

A process reads the system clock; a test (or a screenshot run, or a replay)
installs its own with `use(...)` and the whole program sees it — deadlines,
audit times, back-off, retention, certificates. Functions that already take
`now=` or `clock=` keep doing so; their callers pass `clock.now()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo

Clock = Callable[[], datetime]  # returns an aware datetime


def system() -> datetime:
    return datetime.now(UTC)


_current: list[Clock] = [system]


def now(tz: tzinfo | None = UTC) -> datetime:
    """The current time in `tz` (UTC by default); `tz=None` gives naive local time, as datetime.now()."""
    current = _current[-1]()
    return current.astimezone().replace(tzinfo=None) if tz is None else current.astimezone(tz)


def iso(timespec: str = "milliseconds") -> str:
    """The current UTC time as ISO 8601 text, as rows and records store it."""
    return now().isoformat(timespec=timespec)


@contextlib.contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Install `clock` for the duration of the block (nests; restored on exit)."""
    _current.append(clock)
    try:
        yield clock
    finally:
        _current.remove(clock)


class Fixed:
    """A clock that stands still until moved: `Fixed(t)`, `.advance(seconds=…)`, `.set(t)`."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a clock gives aware times")
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at
