"""The appliance's holiday calendar: packaged data, its own override file, imported arrangements.

An air-gapped appliance learns a year's State Council arrangement by `edge calendar import`:
the years are stored in `calendar_years` and from then on are official here.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from juanzong.edge.config import EdgeSettings
from juanzong.edge.repo import calendar_years
from juanzong.shared.calendar_file import YearTable
from juanzong.shared.workdays import WorkCalendar


def imported_years(db: Database) -> list[YearTable]:
    rows = calendar_years.all_years(db)
    return [YearTable.from_dict({"year": y, "source": s, "holidays": json.loads(h), "workdays": json.loads(w)})
            for y, s, h, w in rows]


def work_calendar(settings: EdgeSettings, db: Database | None = None) -> WorkCalendar:
    """Packaged data, then `<home>/calendar_overrides.toml`, then years imported on this appliance."""
    path = settings.calendar_overrides
    return WorkCalendar([path] if path.exists() else [], imported_years(db) if db is not None else ())
