"""工作台: what the counter and the scanning point need at a glance.

Today's intakes; items waiting for scanning with the time left to their deadline (red
under an hour or overdue, amber under four hours); printer, scanner and sync state;
overdue loans from the custody register; the calendar warning (next year's holiday
arrangement not yet imported); on an air-gapped point, the removable-media carry state.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, render_template

from juanzong.edge import custody
from juanzong.edge.devices.printer import probe
from juanzong.edge.devices.profiles import get_printer, get_scanner
from juanzong.edge.holidays import work_calendar
from juanzong.edge.media import carry_status
from juanzong.edge.repo import counter as counter_repo
from juanzong.edge.repo import print_jobs
from juanzong.edge.repo.batches import BatchState
from juanzong.edge.status import status
from juanzong.edge.web.context import db, now, settings
from juanzong.edge.web.counter import today_range

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

_PROBE_TTL = 30.0  # seconds: a network printer probe may take its whole timeout
_probes: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}


def printer_state() -> dict[str, Any]:
    cfg = settings()
    key = (str(cfg.home), cfg.printer_profile)
    cached = _probes.get(key)
    if cached is None or time.monotonic() - cached[0] > _PROBE_TTL:
        cached = (time.monotonic(), probe(get_printer(cfg.printer_profile), cfg.home, cfg.court_networks))
        _probes[key] = cached
    queued = [j for j in print_jobs.queued(db())]
    return {
        **cached[1],
        "queued": len(queued),
        "last_error": queued[0].last_error if queued else None,
        "ok": cached[1]["ok"] and not any(j.last_error for j in queued),
    }


WARN_FROM_MONTH = 11  # the State Council publishes next year's arrangement in November or December


def calendar_warning() -> str | None:
    """From 1 November on: next year's holiday arrangement not yet official on this appliance."""
    today = now()
    if today.month < WARN_FROM_MONTH:
        return None
    year = today.year + 1
    if not work_calendar(settings(), db()).year_basis(year).provisional:
        return None
    return (
        f"{year} 年放假安排尚未导入，{year} 年的办理时限为暂定（回执上标注“暂定”）。"
        f"国务院办公厅通知发布后，请由主管执行 juanzong edge calendar import 导入。"
    )


def carry_state() -> dict[str, Any] | None:
    """Batches waiting for a medium and the last carry; only where media are the way to central."""
    carry = carry_status(db(), now())
    if carry["registered_media"] or (carry["waiting_batches"] and not settings().central_url):
        return carry
    return None


@bp.get("/")
def index() -> Any:
    cfg = settings()
    st = status(db(), cfg)
    start, end = today_range()
    batches = st["batches"]
    pending = [b for b in batches if b["state"] == BatchState.SEALED]
    sync = {
        "configured": bool(cfg.central_url),
        "pending": len(pending),
        "acknowledged": sum(b["state"] == BatchState.ACKNOWLEDGED for b in batches),
        "last_error": next((b["last_error"] for b in reversed(pending) if b["last_error"]), None),
    }
    scanner = {
        "title": get_scanner(cfg.scanner_profile).title,
        "waiting": st["hot_folder"]["waiting"],
        "in_progress": st["hot_folder"]["in_progress"],
        "quarantine": st["quarantine"]["count"],
        "hot_folder_ok": cfg.hot_folder.exists(),
    }
    return render_template(
        "dashboard.html",
        intakes=counter_repo.intakes_between(db(), start, end),
        waiting=counter_repo.waiting_items(db()),
        printer=printer_state(),
        scanner=scanner,
        sync=sync,
        overdue=custody.overdue_loans(db(), now()),
        calendar_warning=calendar_warning(),
        carry=carry_state(),
    )
