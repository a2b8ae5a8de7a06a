"""Intake (收取): a handover of paper at the counter becomes rows, a deadline and a receipt.

The case number is parsed and normalised first (a wrong one is refused with
what was expected), classified (涉密) material is refused before anything is
stored, each item is catalogued (the clerk's wording mapped to the SPC
directory entry), and the deadline is computed from the receipt time. All of
it is one transaction with its audit record; the receipt is printed only after
that commit (nothing is acknowledged to a person before it is durable), and a
printer that is off leaves the job queued.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlite_utils import Database

from juanzong.edge import audit, intake_rules
from juanzong.edge.config import EdgeSettings
from juanzong.edge.holidays import work_calendar
from juanzong.edge.repo import intakes as intake_rows
from juanzong.edge.repo import items as item_rows
from juanzong.edge.repo import write_tx
from juanzong.edge.repo.intakes import IntakeRow
from juanzong.edge.repo.items import ItemRow
from juanzong.shared import clock
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.caseno import CaseNumber, parse_case_number
from juanzong.shared.catalog import Catalog, catalog_for
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, format_id, new_id
from juanzong.shared.workdays import Deadline, DeadlineRules, WorkCalendar, check_received, compute_deadline

_VOLUMES = {"正卷": "main", "副卷": "internal", "main": "main", "internal": "internal"}


@dataclass(frozen=True)
class ItemSpec:
    name: str
    pages: int
    volume: str = "main"
    original: bool = True
    colour: bool = True
    copies: int = 1
    return_original: bool = False  # 是否退还原件
    catalog_dir: str = ""  # the clerk's explicit choice; empty = suggested from the name


@dataclass(frozen=True)
class PendingCase:
    """A handover for a case not yet filed (待立案): a temporary number, linked later."""

    temporary: str
    warnings: tuple[str, ...] = ()
    type_code: str | None = None
    court: str | None = None

    @property
    def canonical(self) -> str:
        return self.temporary

    def to_dict(self) -> dict[str, Any]:
        return {"canonical": self.temporary, "pending": True, "warnings": []}


PENDING_PREFIX = "待立案"


@dataclass(frozen=True)
class RegisteredItem:
    item_id: str
    seq: int
    name: str
    declared_pages: int
    volume: str
    catalog_dir: str


@dataclass(frozen=True)
class Intake:
    intake_id: str
    case: CaseNumber | PendingCase
    submitter: str
    received_at: datetime
    deadline: datetime
    urgent: bool
    items: tuple[RegisteredItem, ...]
    deadline_provisional: bool = False  # computed from a year without the State Council arrangement
    deadline_source: str = ""
    late_entry: tuple[str, ...] = ()  # 补登 warnings
    notes: tuple[str, ...] = ()  # intake rules and catalog placement the clerk should see (edge.intake_rules)

    def to_dict(self) -> dict:
        return {
            "intake_id": self.intake_id,
            "case_number": self.case.canonical,
            "submitter": self.submitter,
            "received_at": self.received_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "deadline_provisional": self.deadline_provisional,
            "deadline_source": self.deadline_source,
            "urgent": self.urgent,
            "items": [
                {
                    "item_id": i.item_id,
                    "seq": i.seq,
                    "name": i.name,
                    "declared_pages": i.declared_pages,
                    "volume": i.volume,
                    "catalog_dir": i.catalog_dir,
                }
                for i in self.items
            ],
            "warnings": [*self.case.warnings, *self.late_entry, *self.notes],
        }


def parse_item(text: str) -> ItemSpec:
    """`名称:页数[:正卷|副卷][:复印件][:黑白][:目录=卷宗目录名]`; full-width colons and digits accepted."""
    parts = [unicodedata.normalize("NFKC", p).strip() for p in re.split(r"[:：]", text)]
    if len(parts) < 2 or not parts[0] or not parts[1].isdigit() or int(parts[1]) < 1:
        raise AppError(ErrorCode.INTAKE_ITEM_INVALID, text=text)
    chosen = [p.split("=", 1)[1].strip() for p in parts[2:] if p.startswith("目录=")]
    flags = {p for p in parts[2:] if not p.startswith("目录=")}
    unknown = flags - set(_VOLUMES) - {"原件", "复印件", "彩色", "黑白"}
    if unknown:
        raise AppError(ErrorCode.INTAKE_ITEM_INVALID, text=text)
    volume = next((_VOLUMES[f] for f in flags if f in _VOLUMES), "main")
    return ItemSpec(parts[0], int(parts[1]), volume, "复印件" not in flags, "黑白" not in flags, catalog_dir=chosen[-1] if chosen else "")


def deadline_rules(settings: EdgeSettings) -> DeadlineRules:
    hh, mm = (int(x) for x in settings.end_of_day.split(":"))
    return DeadlineRules(end_of_day=time(hh, mm), urgent_hours=settings.urgent_hours)


def calendar(settings: EdgeSettings, db: Database | None = None) -> WorkCalendar:
    return work_calendar(settings, db)


def deadline_for(db: Database, settings: EdgeSettings, received_at: datetime, urgent: bool) -> Deadline:
    return compute_deadline(received_at, urgent=urgent, rules=deadline_rules(settings), calendar=calendar(settings, db))


def register(
    db: Database,
    settings: EdgeSettings,
    *,
    case_text: str,
    submitter: str,
    items: list[ItemSpec],
    received_at: datetime,
    urgent: bool = False,
    classified: bool = False,
    clerk: str = "",
    now: datetime | None = None,
    pending: bool = False,
    on_insert: Callable[[Database, Intake], None] | None = None,
    confirmed_not_classified: bool = False,
) -> Intake:
    """`now` is the clock the received time is checked against (injected; default: the system's).
    `pending`: no case number yet (待立案), the intake gets a temporary number;
    `on_insert` runs inside the intake's transaction (the kiosk stores its details there)."""
    if classified:
        audit.record(
            db,
            place=settings.appliance_id,
            actor=clerk or "clerk",
            action=Action.INTAKE,
            target=case_text,
            outcome=Outcome.REFUSED,
            reason="classified",
        )
        raise AppError(ErrorCode.CASE_CLASSIFIED_REFUSED)
    if not items:
        raise AppError(ErrorCode.INTAKE_ITEM_INVALID, text="")
    intake_id = new_id(Kind.INTAKE)
    case: CaseNumber | PendingCase = PendingCase(f"{PENDING_PREFIX}{format_id(intake_id)}") if pending else parse_case_number(case_text)
    catalog = None if isinstance(case, PendingCase) else _catalog_or_none(case)
    now = now if now is not None else clock.now(received_at.tzinfo)
    late = check_received(received_at, now)
    notes = _checked(
        db,
        settings,
        clerk,
        case_text,
        intake_rules.IntakeFacts(
            submitter,
            None if isinstance(case, PendingCase) else case.year,
            tuple((s.name, s.pages) for s in items),
            now,
            settings.max_declared_pages,
            confirmed_not_classified,
        ),
    )
    deadline = deadline_for(db, settings, received_at, urgent)
    registered = tuple(
        RegisteredItem(new_id(Kind.ITEM), n, spec.name, spec.pages, spec.volume, _catalog_dir(catalog, spec))
        for n, spec in enumerate(items, start=1)
    )
    notes += [n for spec, item in zip(items, registered) if (n := _placement_note(catalog, spec, item))]
    intake = Intake(
        intake_id,
        case,
        submitter.strip(),
        received_at,
        deadline.due,
        urgent,
        registered,
        deadline.provisional,
        deadline.source,
        tuple(late),
        tuple(notes),
    )
    _insert(db, settings, intake, items, clerk, now, on_insert)
    return intake


def _catalog_or_none(case: CaseNumber) -> Catalog | None:
    """A case type without a catalog list yet (民申, 刑核 …) must not stop the counter:
    the items are registered uncatalogued and catalogued later."""
    try:
        return catalog_for(case.type_code, court=case.court)
    except AppError as err:
        if err.code is not ErrorCode.CATALOG_NOT_FOUND:
            raise
        return None


def _catalog_dir(catalog: Catalog | None, spec: ItemSpec) -> str:
    if catalog is None:
        return spec.catalog_dir
    if spec.catalog_dir:
        return catalog.entry(spec.catalog_dir, spec.volume).name  # CATALOG_DIR_UNKNOWN when not in this volume
    entry = catalog.suggest(spec.name)
    if spec.volume == "internal" and entry.volume != "internal":
        entry = catalog.internal[-1] if catalog.internal else entry
    return entry.name


def _checked(db: Database, settings: EdgeSettings, clerk: str, case_text: str, facts: intake_rules.IntakeFacts) -> list[str]:
    """The intake rules; a refusal for a possibly classified item is on record, like a 涉密 one."""
    try:
        return intake_rules.check(facts)
    except AppError as err:
        if err.code is ErrorCode.ITEM_MAYBE_CLASSIFIED:
            audit.record(
                db,
                place=settings.appliance_id,
                actor=clerk or "clerk",
                action=Action.INTAKE,
                target=case_text,
                outcome=Outcome.REFUSED,
                reason="maybe_classified",
                item=err.params.get("name", ""),
            )
        raise


def _placement_note(catalog: Catalog | None, spec: ItemSpec, item: RegisteredItem) -> str | None:
    """A 副卷 item whose name only matches a 正卷 directory was put in the last 副卷 entry: say so."""
    if catalog is None or spec.catalog_dir or spec.volume != "internal":
        return None
    fell_back = catalog.suggest(spec.name).volume != "internal"
    return intake_rules.catalog_note(spec.name, spec.volume, item.catalog_dir, fell_back)


def _insert(
    db: Database,
    settings: EdgeSettings,
    intake: Intake,
    specs: list[ItemSpec],
    clerk: str,
    at: datetime,
    on_insert: Callable[[Database, Intake], None] | None = None,
) -> None:
    now = at.isoformat(timespec="seconds")
    with write_tx(db):
        intake_rows.insert(
            db,
            IntakeRow(
                intake.intake_id,
                intake.case.canonical,
                json.dumps(intake.case.to_dict(), ensure_ascii=False),
                intake.submitter,
                intake.received_at.isoformat(),
                intake.deadline.isoformat(),
                intake.urgent,
                clerk,
                intake.deadline_provisional,
                intake.deadline_source,
                bool(intake.late_entry),
            ),
            now,
        )
        for item, spec in zip(intake.items, specs):
            item_rows.insert(
                db,
                ItemRow(
                    item.item_id,
                    intake.intake_id,
                    item.seq,
                    item.name,
                    item.declared_pages,
                    item.volume,
                    item.catalog_dir,
                    spec.original,
                    spec.colour,
                    spec.copies,
                    spec.return_original,
                ),
            )
        if on_insert is not None:
            on_insert(db, intake)
        audit.record(
            db,
            place=settings.appliance_id,
            actor=clerk or "clerk",
            action=Action.INTAKE,
            target=intake.intake_id,
            case_number=intake.case.canonical,
            items=len(intake.items),
            deadline=intake.deadline.isoformat(),
            deadline_provisional=intake.deadline_provisional,
            late_entry=list(intake.late_entry),
            notes=list(intake.notes),
        )


def load_item(db: Database, item_id: str) -> dict:
    """The item's row with its case number, submitter and the intake's item count."""
    item = item_rows.with_intake(db, item_id)
    if item is None:
        raise AppError(ErrorCode.ITEM_NOT_FOUND, item_id=item_id)
    return item
