"""Counter kiosk test kit: a real appliance home, operators, the app on an injected clock."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # a Monday, a workday, before the 12:00 cut-off
PINS = {"C01": "246810", "S01": "135790", "O01": "112233"}
CASE = "（2026）京0102民初1234号"


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


@dataclass
class Kiosk:
    settings: Any
    app: Any
    client: Any
    clock: Clock
    db: Any
    extra: dict = field(default_factory=dict)

    def csrf(self) -> str:
        with self.client.session_transaction() as s:
            if "csrf" not in s:
                s["csrf"] = "test-token-" + "x" * 20
            return s["csrf"]

    def login(self, operator_id: str = "C01", pin: str | None = None):
        self.client.get("/login")
        return self.client.post(
            "/login", data={"csrf_token": self.csrf(), "operator_id": operator_id, "pin": PINS.get(operator_id, "") if pin is None else pin}
        )

    def post(self, url: str, data: dict | None = None, **kw: Any):
        return self.client.post(url, data={"csrf_token": self.csrf(), **(data or {})}, **kw)

    def audit(self, action: str) -> list[tuple]:
        return self.db.execute("SELECT actor, target, outcome, detail FROM audit WHERE action = ? ORDER BY seq", [action]).fetchall()


def make_kiosk(root: Path, central_keys: Any, **extra: Any) -> Kiosk:
    from edge_kit import make_home
    from hash_once import hashed_once

    from juanzong.edge import operators
    from juanzong.edge.config import load_settings
    from juanzong.edge.repo import connect
    from juanzong.edge.web import create_app

    home = make_home(root, central_keys, court="北京市西城区人民法院", **extra)
    settings = load_settings(home)
    db = connect(settings.db_path)
    with hashed_once(operators, "_HASHER"):
        for oid, name, role in (("C01", "李文", "clerk"), ("S01", "王主管", "supervisor"), ("O01", "赵扫描", "operator")):
            operators.add(db, settings.appliance_id, operator_id=oid, name=name, role=role, pin=PINS[oid], now=START)
    clock = Clock()
    app = create_app(settings, clock=clock)
    return Kiosk(settings, app, app.test_client(), clock, db)


@pytest.fixture
def kiosk(tmp_path: Path, central_keys: Any) -> Kiosk:
    k = make_kiosk(tmp_path, central_keys)
    yield k
    k.db.close()


def intake_form(case: str = CASE, rows: int = 3, **values: str) -> dict[str, str]:
    """A handover with three items; override or add fields with keyword arguments."""
    form = {
        "rows": str(rows),
        "case": case,
        "submitter": "张三",
        "submitter_role": "party",
        "action": "save",
        "items-0-name": "起诉状",
        "items-0-pages": "5",
        "items-0-copies": "1",
        "items-1-name": "证据材料",
        "items-1-pages": "12",
        "items-1-copies": "2",
        "items-1-original": "copy",
        "items-2-name": "授权委托书",
        "items-2-pages": "1",
    }
    form.update(values)
    return form


def field_error(html: str, name: str) -> str | None:
    m = re.search(rf'id="{re.escape(name)}-error">([^<]+)<', html)
    return m.group(1) if m else None


def intake_id_of(response: Any) -> str:
    return response.location.rstrip("/").rsplit("/", 1)[1]
