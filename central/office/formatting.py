"""How the office pages print dates, durations, volumes and ids for people (zh-CN)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from juanzong.shared.ids import format_id

TZ = ZoneInfo("Asia/Shanghai")
VOLUMES = {"main": "正卷", "internal": "副卷"}


def zh_datetime(value: Any) -> str:
    """2026年12月7日 18:00 (court time), from a datetime or an ISO string."""
    if value in (None, ""):
        return "—"
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    local = dt.astimezone(TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def zh_duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return "不到 1 分钟"
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时 {rest} 分钟" if rest else f"{hours} 小时"
    return f"{hours // 24} 天"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def pretty_id(value: str | None) -> str:
    return format_id(value) if value and len(value) == 10 else (value or "—")


def sampling_scope(raw: str) -> str:
    import json

    scope = json.loads(raw)
    if scope.get("batch_id"):
        return f"批次 {pretty_id(scope['batch_id'])}"
    return f"{scope.get('from', '')} 至 {scope.get('to', '')} 收取的材料"


def register(engine: Any) -> None:
    env = engine.engine
    env.filters.update(
        zhdt=zh_datetime, duration=zh_duration, pct=percent, pid=pretty_id, volume=lambda v: VOLUMES.get(v, v), scope=sampling_scope
    )
    env.autoescape = True
    # the value sets templates compare with, by name (never a bare 'ok' or 'pass')
    from juanzong.central.office.sampling import Verdict
    from juanzong.central.office.tasks import TaskState
    from juanzong.central.office.users import Role
    from juanzong.shared.audit import Action, BreakReason, Outcome
    from juanzong.shared.manifest import Side

    env.globals.update(Action=Action, BreakReason=BreakReason, Outcome=Outcome, Role=Role, Side=Side, TaskState=TaskState, Verdict=Verdict)
