"""Kiosk login, lockout, idle logout, CSRF, cookies, roles; `edge operator` commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kiosk_kit import PINS, Kiosk, kiosk  # noqa: F401

from juanzong.edge import operators
from juanzong.shared.errors import AppError, ErrorCode


def test_login_opens_the_dashboard_and_is_audited(kiosk: Kiosk) -> None:
    r = kiosk.login("C01")
    assert r.status_code == 302 and r.location.endswith("/dashboard/")
    page = kiosk.client.get("/dashboard/").text
    assert "李文（窗口收件员，工号 C01）" in page
    assert [(a, o) for a, _, o, _ in kiosk.audit("login")] == [("C01", "ok")]


def test_pages_need_a_login(kiosk: Kiosk) -> None:
    r = kiosk.client.get("/counter/intake/new")
    assert r.status_code == 302 and "/login?next=" in r.location


def test_wrong_pin_and_unknown_id_get_the_same_message(kiosk: Kiosk) -> None:
    wrong = kiosk.login("C01", "999999")
    unknown = kiosk.login("NOBODY", "246810")
    assert wrong.status_code == unknown.status_code == 401
    assert "工号或密码不正确" in wrong.text and "工号或密码不正确" in unknown.text
    assert [(o, json.loads(d)["reason"]) for _, _, o, d in kiosk.audit("login")] == [("refused", "wrong_pin"), ("refused", "unknown")]


def test_five_wrong_pins_lock_for_five_minutes_audited(kiosk: Kiosk) -> None:
    for _ in range(4):
        assert "工号或密码不正确" in kiosk.login("C01", "000000").text
    fifth = kiosk.login("C01", "000000")
    assert "已锁定，请于 10:05 后再试" in fifth.text
    assert len(kiosk.audit("login_locked")) == 1
    kiosk.clock.advance(minutes=4, seconds=59)
    assert "已锁定" in kiosk.login("C01").text  # even the right PIN while locked
    kiosk.clock.advance(seconds=2)
    assert kiosk.login("C01").status_code == 302


def test_idle_session_is_ended_and_audited(kiosk: Kiosk) -> None:
    kiosk.login("C01")
    kiosk.clock.advance(minutes=4)
    assert kiosk.client.get("/dashboard/").status_code == 200  # activity resets the timer
    kiosk.clock.advance(minutes=5, seconds=1)
    r = kiosk.client.get("/dashboard/")
    assert r.status_code == 302 and "/login" in r.location
    assert "长时间未操作，已自动退出" in kiosk.client.get(r.location).text
    assert [json.loads(d)["reason"] for *_, d in kiosk.audit("logout")] == ["idle"]


def test_logout_ends_the_server_session(kiosk: Kiosk) -> None:
    kiosk.login("C01")
    with kiosk.client.session_transaction() as s:
        stolen = dict(s)
    kiosk.post("/logout")
    with kiosk.client.session_transaction() as s:
        s.update(stolen)  # replaying the old cookie does not bring the session back
    assert kiosk.client.get("/dashboard/").status_code == 302


def test_every_post_needs_the_csrf_token(kiosk: Kiosk) -> None:
    kiosk.login("C01")
    r = kiosk.client.post("/counter/intake/new", data={"case": "x"})
    assert r.status_code == 403 and "页面已过期或来源不明" in r.text
    r = kiosk.client.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert kiosk.client.post("/login", data={"operator_id": "C01", "pin": PINS["C01"]}).status_code == 403


def test_session_cookie_flags(kiosk: Kiosk) -> None:
    r = kiosk.login("C01")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    over_tls = kiosk.app.test_client().get("/login", base_url="https://localhost")  # sets the CSRF token
    assert "Secure" in over_tls.headers["Set-Cookie"] and "HttpOnly" in over_tls.headers["Set-Cookie"]


def test_a_clerk_sees_only_clerk_actions(kiosk: Kiosk) -> None:
    kiosk.login("C01")
    page = kiosk.client.get("/dashboard/").text
    assert "收取登记" in page and "材料流转登记" in page and "操作员</a>" not in page
    r = kiosk.client.get("/staff/")
    assert r.status_code == 403 and "无权" in r.text
    assert kiosk.audit("access")[0][2] == "refused"


def test_a_scanning_operator_cannot_register_handovers(kiosk: Kiosk) -> None:
    kiosk.login("O01")
    page = kiosk.client.get("/dashboard/").text
    assert "收取登记" not in page and "文书领取" not in page
    assert kiosk.client.get("/counter/intake/new").status_code == 403
    assert kiosk.client.get("/pickup/").status_code == 403


def test_a_supervisor_sees_operators(kiosk: Kiosk) -> None:
    kiosk.login("S01")
    page = kiosk.client.get("/staff/").text
    assert "赵扫描" in page and "扫描员" in page


def test_a_disabled_operator_is_logged_out_and_cannot_log_in(kiosk: Kiosk) -> None:
    kiosk.login("C01")
    operators.disable(kiosk.db, kiosk.settings.appliance_id, "C01", kiosk.clock.now)
    assert kiosk.client.get("/dashboard/").status_code == 302
    assert "工号或密码不正确" in kiosk.login("C01").text


def test_pins_are_argon2id_hashes(kiosk: Kiosk) -> None:
    hashes = [r[0] for r in kiosk.db.execute("SELECT pin_hash FROM operators").fetchall()]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any(pin in h for h in hashes for pin in PINS.values())


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"operator_id": "C01"}, ErrorCode.OPERATOR_EXISTS),
        ({"pin": "1234"}, ErrorCode.OPERATOR_PIN_WEAK),
        ({"pin": "12345a"}, ErrorCode.OPERATOR_PIN_WEAK),
        ({"operator_id": "工号1"}, ErrorCode.OPERATOR_ID_INVALID),
        ({"role": "judge"}, ErrorCode.OPERATOR_ROLE_INVALID),
        ({"name": " "}, ErrorCode.OPERATOR_NAME_REQUIRED),
    ],
)
def test_operator_add_refusals(kiosk: Kiosk, kwargs: dict, code: ErrorCode) -> None:
    args = {"operator_id": "C09", "name": "某", "role": "clerk", "pin": "123456", **kwargs}
    with pytest.raises(AppError) as err:
        operators.add(kiosk.db, "A", now=kiosk.clock.now, **args)
    assert err.value.code is code


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_operator_commands(kiosk: Kiosk) -> None:
    home = str(kiosk.settings.home)
    added = _cli("edge", "operator", "add", "--json", "--home", home, "--id", "C02", "--name", "周敏", "--role", "clerk", stdin="864200\n")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["role_name"] == "窗口收件员"
    weak = _cli("edge", "operator", "add", "--home", home, "--id", "C03", "--name", "某", "--role", "clerk", "--pin", "12")
    assert weak.returncode == 1 and "密码应为 6 至 12 位数字" in weak.stderr and "Traceback" not in weak.stderr
    assert _cli("edge", "operator", "disable", "--home", home, "--id", "C02").returncode == 0
    listed = {o["id"]: o for o in json.loads(_cli("edge", "operator", "list", "--home", home, "--json").stdout)}
    assert listed["C02"]["disabled"] and not listed["C01"]["disabled"]
    missing = _cli("edge", "operator", "disable", "--home", home, "--id", "ZZ9")
    assert missing.returncode == 1 and "找不到工号 ZZ9" in missing.stderr
