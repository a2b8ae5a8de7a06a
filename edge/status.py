"""`edge status`: what the operator and the archive office need to see at a glance."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from juanzong.edge.config import EdgeSettings
from juanzong.edge.holidays import IMPORT_COMMAND, work_calendar
from juanzong.edge.media import carry_status
from juanzong.edge.repo import batches, documents, intakes, items, pages, print_jobs, quarantine, state
from juanzong.edge.repo.state import StateKey
from juanzong.edge.watch.layout import SPOOL
from juanzong.shared import clock


def status(db: Database, settings: EdgeSettings, today: date | None = None) -> dict:
    """`today` is the caller's clock (the calendar warning starts on 1 November)."""
    hot = settings.hot_folder
    waiting = [p.name for p in hot.iterdir() if p.is_file() and not p.name.startswith(".")] if hot.exists() else []
    spooled = [p.name for p in (hot / SPOOL).iterdir()] if (hot / SPOOL).exists() else []
    return {
        "appliance_id": settings.appliance_id,
        "kiosk_url": settings.kiosk_url,
        "hot_folder": {"path": str(hot), "waiting": len(waiting), "in_progress": len(spooled)},
        "active_item": state.get(db, StateKey.ACTIVE_ITEM),
        "items": items.overview(db),
        "unassigned": pages.unassigned_count(db),
        "quarantine": _quarantine(db),
        "batches": _batches(db),
        "unbatched": batches.unbatched_counts(db),
        "print_jobs": print_jobs.state_counts(db),
        "carry": carry_status(db, clock.now()),
        "calendar": _calendar(db, settings, today or clock.now(ZoneInfo("Asia/Shanghai")).date()),
        "documents": {**documents.summary(db), "ocr_queue": documents.queue_summary(db)},
    }


def _calendar(db: Database, settings: EdgeSettings, today: date) -> dict:
    from juanzong.shared.workdays import calendar_warnings

    return {
        "warnings": calendar_warnings(work_calendar(settings, db), today, IMPORT_COMMAND.format(home=settings.home)),
        "provisional_deadlines": intakes.provisional_count(db),
    }


def _quarantine(db: Database) -> dict:
    files = quarantine.overview(db)
    return {"count": len(files), "files": files}


def _batches(db: Database) -> list[dict]:
    return [
        {
            "id": r[0],
            "seq": r[1],
            "state": r[2],
            "pages": len(json.loads(r[3])["pages"]),
            "attempts": r[4],
            "last_error": r[5],
            "sealed_at": r[6],
            "acked_at": r[7],
        }
        for r in batches.overview(db)
    ]
