"""Helpers for appliance tests: register an intake, render its cover sheets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def register(db, settings, items=(("起诉状", 2), ("证据材料", 3)), case="（2026）京0102民初1234号"):
    from juanzong.edge import intake

    return intake.register(
        db,
        settings,
        case_text=case,
        submitter="张三",
        items=[intake.ItemSpec(n, p) for n, p in items],
        received_at=datetime(2026, 3, 2, 10, 0, tzinfo=TZ),
        now=datetime(2026, 3, 2, 10, 5, tzinfo=TZ),
    )  # the test's clock, not today's


def cover_for(intake, n: int):
    from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet

    item = intake.items[n]
    return render_cover_sheet(
        CoverSheetInfo(
            item_id=item.item_id,
            intake_id=intake.intake_id,
            case_number=intake.case.canonical,
            item_name=item.name,
            declared_pages=item.declared_pages,
            item_seq=n + 1,
            item_count=len(intake.items),
        )
    )


def make_home(root: Path, central, profile: str = "simulated", **extra) -> Path:
    from juanzong.edge.home import init_home

    home = root / "edge"
    init_home(home, profile=profile, central_identity=central.identity_file, extra=extra or None)
    return home
