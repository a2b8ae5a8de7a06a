"""What the archive office sees first: per scanning point, today's and this week's work against the deadline rule.

An item is *done* when its declared pages have all arrived at central; it is on
time when that happened before its deadline. Items whose deadline has passed
and that are not done are overdue (red). A deadline computed from a provisional
holiday year is marked （暂定）. Sync lag is the time since the last batch
arrived over the network or on a medium.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from juanzong.central import db
from juanzong.central.reconcile.report import sequence_gaps
from juanzong.central.repository import Repository

TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class ItemStatus:
    item_id: str
    intake_id: str
    appliance_id: str
    case_number: str
    name: str
    declared: int
    received: int
    deadline: datetime
    provisional: bool
    received_at: datetime  # the intake's
    done_at: datetime | None

    @property
    def done(self) -> bool:
        return self.done_at is not None

    def overdue(self, now: datetime) -> bool:
        return not self.done and now > self.deadline

    @property
    def on_time(self) -> bool:
        return self.done_at is not None and self.done_at <= self.deadline

    def state(self, now: datetime) -> str:
        if self.received == 0:
            return "待扫描"
        if self.done:
            return "已齐全"
        return "已超期" if self.overdue(now) else "扫描中"


@dataclass
class PointLine:
    appliance_id: str
    name: str
    intakes_today: int = 0
    intakes_week: int = 0
    pages_today: int = 0
    pages_week: int = 0
    due: int = 0
    on_time: int = 0
    overdue: list[ItemStatus] = field(default_factory=list)
    last_contact: datetime | None = None
    last_media_import: str | None = None
    seq_gaps: tuple[tuple[int, int], ...] = ()
    refusals: int = 0
    revoked: bool = False

    @property
    def on_time_rate(self) -> float | None:
        return None if not self.due else self.on_time / self.due

    def lag(self, now: datetime) -> timedelta | None:
        return None if self.last_contact is None else now - self.last_contact


def item_statuses(repo: Repository) -> list[ItemStatus]:
    i, t, p, b = db.items, db.intakes, db.pages, db.batches
    last_page = func.max(b.c.received_at)
    received = func.count(p.c.page_no)
    query = (
        select(
            i.c.item_id,
            i.c.intake_id,
            i.c.appliance_id,
            i.c.name,
            i.c.declared_pages,
            t.c.case_number,
            t.c.deadline,
            t.c.received_at,
            t.c.record,
            received.label("received"),
            last_page.label("last_page"),
        )
        .select_from(
            i.join(t, t.c.intake_id == i.c.intake_id).outerjoin(p, p.c.item_id == i.c.item_id).outerjoin(b, b.c.batch_id == p.c.batch_id)
        )
        .group_by(
            i.c.item_id,
            i.c.intake_id,
            i.c.appliance_id,
            i.c.name,
            i.c.declared_pages,
            t.c.case_number,
            t.c.deadline,
            t.c.received_at,
            t.c.record,
        )
    )
    with repo.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_status(r) for r in rows]


def _status(r: Any) -> ItemStatus:
    done = r.received >= r.declared_pages and r.last_page is not None
    return ItemStatus(
        r.item_id,
        r.intake_id,
        r.appliance_id,
        r.case_number,
        r.name,
        r.declared_pages,
        r.received,
        _dt(r.deadline),
        bool(json.loads(r.record).get("deadline_provisional")),
        _dt(r.received_at),
        _dt(r.last_page) if done else None,
    )


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=TZ)


def overview(repo: Repository, now: datetime, refusals: dict[str, int]) -> list[PointLine]:
    today = now.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=today.weekday())
    lines = {a.appliance_id: PointLine(a.appliance_id, a.name, revoked=bool(getattr(a, "revoked_at", None))) for a in repo.appliances()}
    statuses = item_statuses(repo)
    intakes_seen: set[tuple[str, str]] = set()
    for s in statuses:
        line = lines.setdefault(s.appliance_id, PointLine(s.appliance_id, ""))
        _count_intake(line, s, today, week, intakes_seen)
        if s.done or now > s.deadline:
            line.due += 1
            line.on_time += s.on_time
        if s.overdue(now):
            line.overdue.append(s)
    _contacts(repo, lines)
    for appliance_id, count in refusals.items():
        if appliance_id in lines:
            lines[appliance_id].refusals = count
    return sorted(lines.values(), key=lambda line: (-len(line.overdue), line.appliance_id))


def _count_intake(line: PointLine, s: ItemStatus, today: datetime, week: datetime, seen: set[tuple[str, str]]) -> None:
    if (line.appliance_id, s.intake_id) not in seen:
        seen.add((line.appliance_id, s.intake_id))
        line.intakes_today += s.received_at >= today
        line.intakes_week += s.received_at >= week
    line.pages_today += s.received if s.received_at >= today else 0
    line.pages_week += s.received if s.received_at >= week else 0


def _contacts(repo: Repository, lines: dict[str, PointLine]) -> None:
    b = db.batches
    with repo.engine.connect() as conn:
        rows = conn.execute(select(b.c.appliance_id, func.max(b.c.received_at)).group_by(b.c.appliance_id)).all()
    for appliance_id, last in rows:
        if appliance_id in lines and last:
            lines[appliance_id].last_contact = _dt(last)
    for appliance_id, seqs in repo.batch_sequences().items():
        if appliance_id in lines:
            lines[appliance_id].seq_gaps = sequence_gaps([s[0] for s in seqs])
    for appliance_id, at in repo.last_media_imports().items():
        if appliance_id in lines:
            lines[appliance_id].last_media_import = at
