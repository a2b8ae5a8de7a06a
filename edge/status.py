"""`edge status`: what the operator and the archive office need to see at a glance."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from juanzong.edge.batches import unbatched_counts
from juanzong.edge.media import carry_status
from juanzong.edge.config import EdgeSettings
from juanzong.edge.db import state_get
from juanzong.edge.holidays import IMPORT_COMMAND, work_calendar
from juanzong.edge.ingest.record import ACTIVE_ITEM
from juanzong.edge.watch.watcher import SPOOL


def status(db: Database, settings: EdgeSettings, today: date | None = None) -> dict:
    """`today` is the caller's clock (the calendar warning starts on 1 November)."""
    hot = settings.hot_folder
    waiting = [p.name for p in hot.iterdir() if p.is_file() and not p.name.startswith(".")] if hot.exists() else []
    spooled = [p.name for p in (hot / SPOOL).iterdir()] if (hot / SPOOL).exists() else []
    return {
        "appliance_id": settings.appliance_id,
        "kiosk_url": settings.kiosk_url,
        "hot_folder": {"path": str(hot), "waiting": len(waiting), "in_progress": len(spooled)},
        "active_item": state_get(db, ACTIVE_ITEM),
        "items": _items(db),
        "unassigned": db.execute("SELECT COUNT(*) FROM pages WHERE role = 'page' AND item_id IS NULL").fetchone()[0],
        "quarantine": _quarantine(db),
        "batches": _batches(db),
        "unbatched": unbatched_counts(db),
        "print_jobs": _print_jobs(db),
        "carry": carry_status(db, datetime.now(timezone.utc)),
        "calendar": _calendar(db, settings, today or datetime.now(ZoneInfo("Asia/Shanghai")).date()),
    }


def _calendar(db: Database, settings: EdgeSettings, today: date) -> dict:
    from juanzong.shared.workdays import calendar_warnings

    provisional = db.execute("SELECT COUNT(*) FROM intakes WHERE deadline_provisional = 1").fetchone()[0]
    return {"warnings": calendar_warnings(work_calendar(settings, db), today, IMPORT_COMMAND), "provisional_deadlines": provisional}


def _items(db: Database) -> list[dict]:
    sql = """SELECT i.id, i.intake_id, t.case_number, t.deadline, t.deadline_provisional, i.seq, i.name, i.declared_pages, i.volume, i.catalog_dir,
                    (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = 'page') AS pages,
                    (SELECT COUNT(*) FROM pages p WHERE p.item_id = i.id AND p.role = 'page' AND p.findings != '[]') AS flagged
             FROM items i JOIN intakes t ON t.id = i.intake_id ORDER BY t.received_at, i.seq"""
    cur = db.execute(sql)
    cols = [c[0] for c in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    return [{**r, "deadline_provisional": bool(r["deadline_provisional"])} for r in rows]


def _quarantine(db: Database) -> dict:
    rows = db.execute("SELECT id, source_name, code, reason, created_at FROM quarantine ORDER BY created_at").fetchall()
    return {"count": len(rows), "files": [dict(zip(("id", "source_name", "code", "reason", "at"), r)) for r in rows]}


def _batches(db: Database) -> list[dict]:
    rows = db.execute("SELECT id, seq, state, manifest, attempts, last_error, sealed_at, acked_at FROM batches ORDER BY seq").fetchall()
    return [{"id": r[0], "seq": r[1], "state": r[2], "pages": len(json.loads(r[3])["pages"]), "attempts": r[4],
             "last_error": r[5], "sealed_at": r[6], "acked_at": r[7]} for r in rows]


def _print_jobs(db: Database) -> dict:
    rows = db.execute("SELECT state, COUNT(*) FROM print_jobs GROUP BY state").fetchall()
    return {state: n for state, n in rows}
