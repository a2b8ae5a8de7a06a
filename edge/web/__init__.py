"""The counter kiosk: a Flask app on top of the appliance's data layer (zh-CN, touch screen).

`create_app(settings, clock=...)` builds the app; `edge run` serves it with waitress on
`settings.kiosk_listen` (default 127.0.0.1:8080, the local touch screen).

Screens are blueprints, listed once in `SCREENS`, each with the permission it needs
(`edge.operators.PERMISSIONS` says which role has which) and its navigation entries:

    auth       login / logout (no permission: the only screens open without a session)
    dashboard  today's intakes, items waiting with time left, printer/scanner/sync state
    counter    register a handover (收取), receipt, cover sheets and labels, print queue
    custody    submit / transfer / borrow / return register, per-case register PDF
    pickup     served documents: register, hand over with signature, 送达回证
    station    the scanning operator's QC station (质检工作站): work list, pages, fixes, approval
    staff      operators list (supervisors)

Adding a screen: write `edge/web/<name>.py` with a `bp` Blueprint and
append `Screen(<name>.bp, Permission.X, (("<name>.index", "中文名"),))` to `SCREENS`, or pass
it to `create_app(..., extra_screens=...)`. Every view then gets, from `edge.web.context`:
a per-request database connection (`db()`), the injected clock (`now()`), the logged-in
operator (`operator()`), CSRF checking of every POST and the audit helper (`record()`).
Templates extend `base.html`; forms include `{{ csrf_field() }}`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Flask

from juanzong.edge.config import EdgeSettings
from juanzong.edge.operators import Permission


@dataclass(frozen=True)
class Screen:
    blueprint: Blueprint
    permission: Permission | None  # None: open without login (auth only)
    nav: tuple[tuple[str, str], ...] = ()  # (endpoint, label) shown to roles holding the permission


def _screens() -> tuple[Screen, ...]:
    from juanzong.edge.web import auth, counter, custody, dashboard, pickup, staff, station

    return (
        Screen(auth.bp, None),
        Screen(dashboard.bp, Permission.DASHBOARD, (("dashboard.index", "工作台"),)),
        Screen(counter.bp, Permission.INTAKE, (("counter.new_intake", "收取登记"), ("counter.intakes", "今日收件"))),
        Screen(custody.bp, Permission.CUSTODY, (("custody.index", "材料流转登记"),)),
        Screen(pickup.bp, Permission.PICKUP, (("pickup.index", "文书领取"),)),
        Screen(station.bp, Permission.SCAN, (("qc.index", "质检工作站"),)),
        Screen(staff.bp, Permission.OPERATORS, (("staff.index", "操作员"),)),
    )


def create_app(settings: EdgeSettings, *, clock: Callable[[], datetime] | None = None, extra_screens: Sequence[Screen] = ()) -> Flask:
    from juanzong.edge.web.context import install

    # instance_path given: Flask cannot find it for a namespace package (juanzong.*)
    app = Flask(__name__, instance_path=str(settings.data_dir / "kiosk"))
    screens = _screens() + tuple(extra_screens)
    install(app, settings, clock, screens)
    for screen in screens:
        app.register_blueprint(screen.blueprint)
    return app
