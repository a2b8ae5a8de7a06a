"""Jinja filters: how the kiosk writes times, ids, volumes and time left, in Chinese."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask

from juanzong.shared.ids import format_id, is_valid_id

TZ = ZoneInfo("Asia/Shanghai")
VOLUME_NAMES = {"main": "正卷", "internal": "副卷"}
RED_UNDER = timedelta(hours=1)
AMBER_UNDER = timedelta(hours=4)


def as_local(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=TZ) if moment.tzinfo is None else moment.astimezone(TZ)


def minute(value: datetime | str | None) -> str:
    moment = as_local(value)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def hhmm(value: datetime | str | None) -> str:
    moment = as_local(value)
    return moment.strftime("%H:%M") if moment else ""


def ident(value: str | None) -> str:
    return format_id(value) if value and is_valid_id(value) else (value or "")


def _left(deadline: datetime | str, now: datetime) -> timedelta:
    moment = as_local(deadline)
    if moment is None:
        raise ValueError("no deadline")  # an intake always has one
    return moment - now


def time_left(deadline: datetime | str, now: datetime) -> str:
    left = _left(deadline, now)
    if left <= timedelta(0):
        return f"已超时 {_span(-left)}"
    return f"剩余 {_span(left)}"


def urgency(deadline: datetime | str, now: datetime) -> str:
    """CSS class: red under an hour or overdue, amber under four hours."""
    left = _left(deadline, now)
    return "red" if left < RED_UNDER else "amber" if left < AMBER_UNDER else "ok"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时"
    return f"{hours} 小时 {mins} 分" if hours else f"{mins} 分"


def install(app: Flask) -> None:
    app.add_template_filter(minute)
    app.add_template_filter(hhmm)
    app.add_template_filter(ident)
    app.add_template_filter(lambda v: VOLUME_NAMES.get(v, v), "volume")
    app.add_template_global(time_left)
    app.add_template_global(urgency)
    # the value sets templates compare with, by name (never a bare 'printed' or 'error')
    from juanzong.edge.ingest.context import Severity
    from juanzong.edge.items import ItemState
    from juanzong.edge.repo.print_jobs import JobState

    app.jinja_env.globals.update(ItemState=ItemState, JobState=JobState, Severity=Severity)
