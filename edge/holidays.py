"""The appliance's holiday calendar: packaged data, its own override file, imported arrangements.

An air-gapped appliance learns a year's State Council arrangement by `edge calendar import`: the
file is validated as a whole, its years are stored in `calendar_years` and are official here from
then on, and every intake whose deadline was computed provisionally in one of those years is
recomputed in the same transaction. Each change is audited and the intake is sent to central
again with the next batch (its `batch_id` is cleared; central upserts intakes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.config import EdgeSettings
from juanzong.edge.repo import calendar_years, intakes, write_tx
from juanzong.shared import clock, crypto
from juanzong.shared.audit import Action
from juanzong.shared.calendar_file import FileProblem, YearTable, parse_calendar_file
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.workdays import (
    FIRST_YEAR,
    LAST_YEAR,
    DeadlineRules,
    WorkCalendar,
    YearBasis,
    calendar_warnings,
    compute_deadline,
)

IMPORT_COMMAND = "juanzong edge calendar import --home {home} <放假安排文件.toml>"  # format with the home


def imported_years(db: Database) -> list[YearTable]:
    rows = calendar_years.all_years(db)
    return [YearTable.from_dict({"year": y, "source": s, "holidays": json.loads(h), "workdays": json.loads(w)}) for y, s, h, w in rows]


def work_calendar(settings: EdgeSettings, db: Database | None = None) -> WorkCalendar:
    """Packaged data, then `<home>/calendar_overrides.toml`, then years imported on this appliance."""
    path = settings.calendar_overrides
    return WorkCalendar([path] if path.exists() else [], imported_years(db) if db is not None else ())


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class DeadlineChange:
    intake_id: str
    case_number: str
    old_due: str
    new_due: str
    provisional: bool  # still provisional (it also consulted another year not yet imported)

    def to_dict(self) -> dict[str, Any]:
        return {
            "intake_id": self.intake_id,
            "case_number": self.case_number,
            "old_due": self.old_due,
            "new_due": self.new_due,
            "changed": self.old_due != self.new_due,
            "provisional": self.provisional,
        }


@dataclass(frozen=True)
class ImportResult:
    file: str
    sha256: str
    years: tuple[YearTable, ...]
    changes: tuple[DeadlineChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "years": [{"year": t.year, "source": t.source, "holidays": len(t.holidays), "workdays": len(t.workdays)} for t in self.years],
            "recomputed": [c.to_dict() for c in self.changes],
        }


def read_arrangement(path: Path) -> tuple[YearTable, ...]:
    """The years of an arrangement file, or CALENDAR_IMPORT_INVALID naming the line; nothing applied."""
    try:
        parsed = parse_calendar_file(path)
    except FileProblem as problem:
        raise _import_invalid(path, problem.detail, problem.line) from problem
    if parsed.days:
        raise _import_invalid(path, "导入文件只能包含 [years.YYYY] 表；单日调整请写入设备目录下的 calendar_overrides.toml", None)
    if not parsed.years:
        raise _import_invalid(path, "文件中没有任何 [years.YYYY] 表", None)
    for table in parsed.years.values():
        if not FIRST_YEAR <= table.year <= LAST_YEAR:
            raise _import_invalid(path, f"{table.year} 年不在 {FIRST_YEAR}–{LAST_YEAR} 年范围内", None)
    return tuple(sorted(parsed.years.values(), key=lambda t: t.year))


def _import_invalid(path: Path, detail: str, line: int | None) -> AppError:
    return AppError(
        ErrorCode.CALENDAR_IMPORT_INVALID, path=str(path), line=line or 0, where=f" 第 {line} 行" if line else " ", detail=detail
    )


def import_arrangement(db: Database, settings: EdgeSettings, path: Path, rules: DeadlineRules, *, actor: str = "operator") -> ImportResult:
    """Install the file's years and recompute the provisional deadlines they affect, in one transaction."""
    years = read_arrangement(path)
    sha256 = crypto.sha256_hex(path.read_bytes())
    now = clock.iso("seconds")
    with write_tx(db):
        for table in years:
            _store_year(db, table, path.name, sha256, now)
        audit.record(
            db,
            place=settings.appliance_id,
            actor=actor,
            action=Action.CALENDAR_IMPORT,
            target=path.name,
            sha256=sha256,
            years={str(t.year): t.source for t in years},
        )
        changes = recompute(db, settings, {t.year for t in years}, rules, actor=actor)
    return ImportResult(str(path), sha256, years, tuple(changes))


def _store_year(db: Database, table: YearTable, file_name: str, sha256: str, now: str) -> None:
    data = table.to_dict()
    calendar_years.upsert(
        db,
        year=table.year,
        source=table.source,
        holidays_json=json.dumps(data["holidays"]),
        workdays_json=json.dumps(data["workdays"]),
        file_name=file_name,
        file_sha256=sha256,
        imported_at=now,
    )


# ---------------------------------------------------------------- recompute


def recompute(
    db: Database, settings: EdgeSettings, years: set[int], rules: DeadlineRules, *, actor: str = "operator"
) -> list[DeadlineChange]:
    """Recompute every provisional deadline that consulted one of `years`; caller holds the transaction."""
    calendar = work_calendar(settings, db)
    changes = []
    for intake_id, case_number, received_at, old_due in _provisional_intakes(db):
        received, old = datetime.fromisoformat(received_at), datetime.fromisoformat(old_due)
        if not years & set(range(_local(received, rules).year, _local(old, rules).year + 1)):
            continue
        deadline = compute_deadline(received, rules=rules, calendar=calendar)
        change = DeadlineChange(intake_id, case_number, old_due, deadline.isoformat(), deadline.provisional)
        # cleared batch_id: the intake travels to central again with the next batch
        intakes.set_deadline(db, intake_id, change.new_due, deadline.provisional, deadline.source)
        audit.record(
            db,
            place=settings.appliance_id,
            actor=actor,
            action=Action.DEADLINE_RECOMPUTE,
            target=intake_id,
            old=old_due,
            new=change.new_due,
            provisional=deadline.provisional,
            source=deadline.source,
        )
        changes.append(change)
    return changes


def _provisional_intakes(db: Database) -> list[tuple[str, str, str, str]]:
    return intakes.provisional_not_urgent(db)


def _local(moment: datetime, rules: DeadlineRules) -> datetime:
    return moment.astimezone(rules.zone)


# ---------------------------------------------------------------- status


def calendar_status(db: Database, settings: EdgeSettings, today: date) -> dict[str, Any]:
    """Each year's basis and source on this appliance, provisional deadlines, and the warnings."""
    calendar = work_calendar(settings, db)
    imported = {r[0]: {"file": r[1], "sha256": r[2], "imported_at": r[3]} for r in calendar_years.imports(db)}
    return {
        "years": [_year_entry(y, imported.get(y.year)) for y in calendar.years_report(today)],
        "provisional_deadlines": intakes.provisional_count(db),
        "warnings": calendar_warnings(calendar, today, IMPORT_COMMAND.format(home=settings.home)),
    }


def _year_entry(year: YearBasis, imported: dict[str, Any] | None) -> dict[str, Any]:
    return {**year.to_dict(), "imported": imported}
