"""The counter kiosk in a real browser: Debian's chromium driven by Playwright.

The app is served by waitress on a loopback port from this process, on an injected clock.
Each test is a clerk's journey; the main screens are saved to docs/screenshots/ (1920×1080,
the counter's touch screen) for the README.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kiosk_kit import PINS, Kiosk, make_kiosk

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=zh-CN",
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CASE = "（2026）京0102民初1234号"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Served:
    def __init__(self, kiosk: Kiosk) -> None:
        from waitress import create_server

        self.kiosk = kiosk
        self.server = create_server(kiosk.app, host="127.0.0.1", port=0, threads=2)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def served(tmp_path: Path, central_keys) -> Iterator[Served]:
    s = Served(make_kiosk(tmp_path, central_keys))
    yield s
    s.close()
    s.kiosk.db.close()


@pytest.fixture
def page(browser, served: Served) -> Iterator:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN", has_touch=True)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login(page, served: Served, operator_id: str = "C01", pin: str | None = None) -> None:
    page.goto(served.url + "/login")
    page.get_by_label("工号").fill(operator_id)
    page.get_by_label("密码").fill(PINS[operator_id] if pin is None else pin)
    page.get_by_role("button", name="登录").click()


def fill_handover(page) -> None:
    page.get_by_label("案号", exact=True).fill("(2026)京0102民初1234号")
    page.get_by_label("提交人姓名").fill("张三")
    page.get_by_label("提交人身份").select_option("agent")
    page.get_by_label("证件号码（选填，加密保存）").fill("110101199001011234")
    page.get_by_label("联系电话（选填，加密保存）").fill("13812345678")
    for i, (name, pages, copies) in enumerate((("民事起诉状", "5", "1"), ("证据材料", "12", "2"), ("授权委托书", "1", "1"))):
        page.locator(f"#items-{i}-name").fill(name)
        page.locator(f"#items-{i}-pages").fill(pages)
        page.locator(f"#items-{i}-copies").fill(copies)
    page.locator("#items-1-original").select_option("copy")


def sign(page, prefix: str) -> None:
    """Draw a signature on the pad with the pointer, as a finger would."""
    box = page.locator(f'[data-signature="{prefix}-drawn"] canvas').bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 40, y + 160)
    page.mouse.down()
    for dx, dy in ((120, 60), (200, 170), (300, 70), (420, 180), (520, 90)):
        page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


# ---------------------------------------------------------------- journeys


def test_login_and_lockout(page, served: Served) -> None:
    page.goto(served.url + "/")
    shot(page, "01-login")
    for _ in range(4):
        login(page, served, "C01", "000000")
        assert page.get_by_role("alert").inner_text() == "工号或密码不正确"
    login(page, served, "C01", "000000")
    assert "账号已锁定，请于 10:05 后再试" in page.get_by_role("alert").inner_text()
    login(page, served, "C01")
    assert "已锁定" in page.get_by_role("alert").inner_text()
    served.kiosk.clock.advance(minutes=5, seconds=1)
    login(page, served, "C01")
    assert page.url.endswith("/dashboard/")
    assert page.get_by_role("navigation", name="主菜单").get_by_role("link").all_inner_texts() == [
        "工作台",
        "收取登记",
        "今日收件",
        "材料流转登记",
        "文书领取",
    ]


def test_handover_with_three_items_and_printing(page, served: Served) -> None:
    login(page, served)
    page.get_by_role("link", name="收取登记").click()
    assert page.locator("table.items tbody tr").count() == 3
    page.get_by_role("button", name="添加材料").click()  # a plain submit: works without JavaScript
    assert page.locator("table.items tbody tr").count() == 4
    fill_handover(page)
    page.get_by_role("button", name="核对案号").click()
    assert "案号有效：（2026）京0102民初1234号" in page.locator("#case-checked").inner_text()
    assert page.locator("#items-1-name").input_value() == "证据材料"
    shot(page, "02-handover-form")
    page.get_by_role("button", name="登记").click()
    assert page.locator("#deadline").inner_text() == "办理时限：2026-03-02 18:00"
    assert "110101********1234" in page.content() and "138****5678" in page.content()
    page.get_by_role("button", name="打印回执").click()
    assert "已打印 1 项" in page.get_by_role("alert").first.inner_text()
    page.get_by_role("button", name="打印分隔标签（热敏）").click()
    assert "已打印 3 项" in page.get_by_role("alert").first.inner_text()
    shot(page, "03-intake-saved")
    with page.expect_popup() as popup:
        page.get_by_role("link", name="打印封面（A4）").click()
    assert popup.value is not None
    _check_printed_receipt(served)


def _check_printed_receipt(served: Served) -> None:
    import zxingcpp
    from test_printer import raster_blocks

    from juanzong.shared.ids import make_payload

    data = (served.kiosk.settings.home / "printer" / "receipts.escpos").read_bytes()
    intake = served.kiosk.db.execute("SELECT id FROM intakes").fetchone()[0]
    qrs = [r.text for b in raster_blocks(data) for r in zxingcpp.read_barcodes(b, formats=zxingcpp.BarcodeFormat.QRCode)]
    assert qrs[0] == make_payload(intake)


def test_printer_off_then_retry_then_reprint(page, served: Served) -> None:
    out = served.kiosk.settings.home / "printer" / "receipts.escpos"
    out.mkdir(parents=True)  # the printer cannot be written to: off
    login(page, served)
    page.get_by_role("link", name="收取登记").click()
    fill_handover(page)
    page.get_by_role("button", name="登记").click()
    page.get_by_role("button", name="打印回执").click()
    assert "未连接，打印任务已排队" in page.get_by_role("alert").first.inner_text()
    assert page.get_by_text("排队中").is_visible()
    shot(page, "04-printer-off-queued")
    page.get_by_role("link", name="工作台").click()
    assert "待打印 1 项" in page.locator("#printer-state").inner_text()
    shutil.rmtree(out)  # printer back on
    page.locator("#printer-state").get_by_role("button", name="重试打印").click()
    assert "已打印 1 项" in page.get_by_role("alert").first.inner_text()
    page.get_by_role("link", name="今日收件").click()
    page.get_by_role("link", name="查看").click()
    page.get_by_role("button", name="补打").click()
    assert page.get_by_text("收取回执（补打）").is_visible()


def test_borrow_then_return_with_a_missing_page(page, served: Served) -> None:
    login(page, served)
    page.get_by_role("link", name="收取登记").click()
    fill_handover(page)
    page.get_by_role("button", name="登记").click()
    page.get_by_role("link", name="材料流转登记").click()
    page.get_by_label("案号（或待立案临时编号）").fill(CASE)
    page.get_by_role("button", name="查找案件").click()
    page.get_by_label("类型").select_option("borrow")
    page.get_by_label("接收方（借阅人）").fill("陈法官")
    page.get_by_label("用途（借阅时必填）").fill("庭审阅卷")
    page.get_by_label("第 1 件").check()
    page.get_by_label("第 2 件").check()
    sign(page, "sig_from")
    page.get_by_label("或由接收方输入本人姓名确认").fill("陈法官")
    shot(page, "05-custody-borrow")
    page.get_by_role("button", name="登记并签名确认").click()
    assert "已登记借阅：2 件材料" in page.get_by_role("alert").first.inner_text()
    page.get_by_role("link", name="办理归还").click()
    page.get_by_role("radio", name="缺页").check()
    page.get_by_label("状况说明（缺页、改动或污损时必填，写明哪一页）").fill("证据材料第 17 页缺失")
    page.locator("input[id^=pages-]").nth(1).fill("23")
    page.get_by_label("或由归还人输入本人姓名确认").fill("陈法官")
    sign(page, "sig_to")
    shot(page, "06-custody-return")
    page.get_by_role("button", name="登记归还并签名确认").click()
    assert "已登记归还（缺页）" in page.get_by_role("alert").first.inner_text()
    assert "缺页：证据材料第 17 页缺失" in page.locator("#register").inner_text()
    methods = [m for (m,) in served.kiosk.db.execute("SELECT method FROM signatures ORDER BY rowid")]
    assert methods == ["drawn", "typed", "typed", "drawn"]


def test_pickup_of_served_documents(page, served: Served) -> None:
    login(page, served)
    page.get_by_role("link", name="文书领取").click()
    page.get_by_label("案号").fill("（2026）京0102民初88号")
    page.get_by_label("受送达人").fill("王五")
    page.locator("#doc-0-name").fill("民事判决书")
    page.locator("#doc-0-copies").fill("2")
    page.get_by_role("button", name="登记", exact=True).click()
    assert "已登记待领取文书：王五" in page.get_by_role("alert").first.inner_text(), page.locator("main").inner_text()
    page.get_by_role("link", name="办理领取").click()
    page.get_by_label("证件号码（加密保存，回证上只显示部分）").fill("110101199001011234")
    page.get_by_label("已核对受送达人身份，与证件一致").check()
    sign(page, "sig_addressee")
    shot(page, "07-pickup-handover")
    page.get_by_role("button", name="签收并打印送达回证").click()
    assert "已归入案件卷宗" in page.locator("#filed").inner_text()
    assert page.get_by_text("已打印").first.is_visible()
    row = served.kiosk.db.execute(
        "SELECT p.page_no, i.name FROM pickups k JOIN pages p ON p.id = k.page_id JOIN items i ON i.id = p.item_id"
    ).fetchone()
    assert row == (1, "送达回证")


def test_dashboard_shows_time_left_in_colour(page, served: Served) -> None:
    k = served.kiosk
    for hour, case in ((9, "（2026）京0102民初1号"), (13, "（2026）京0102民初2号")):
        k.clock.now = k.clock.now.replace(hour=hour)
        login(page, served)  # hours apart: the idle logout ended the last session
        page.goto(served.url + "/counter/intake/new")
        fill_handover(page)
        page.get_by_label("案号", exact=True).fill(case)
        page.get_by_role("button", name="登记").click()
    k.clock.now = k.clock.now.replace(hour=17, minute=20)  # 40 min to the 18:00 deadline of the first
    login(page, served)
    rows = page.locator("#waiting tbody tr")
    assert rows.first.get_attribute("class") == "red" and "剩余 40 分" in rows.first.inner_text()
    assert page.locator("#waiting tr.ok").count() == 3  # due tomorrow 12:00
    shot(page, "08-dashboard")


def test_pages_work_without_javascript(browser, served: Served) -> None:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, java_script_enabled=False)
    page = context.new_page()
    login(page, served)
    page.get_by_role("link", name="收取登记").click()
    page.get_by_role("button", name="添加材料").click()
    assert page.locator("table.items tbody tr").count() == 4
    fill_handover(page)
    page.get_by_role("button", name="登记").click()
    assert page.locator("#deadline").is_visible()
    page.get_by_role("link", name="材料流转登记").click()
    page.get_by_label("案号（或待立案临时编号）").fill(CASE)
    page.get_by_role("button", name="查找案件").click()
    assert not page.locator(".sig-pad").first.is_visible()  # no pad without JavaScript: typed names instead
    page.get_by_label("接收方（借阅人）").fill("陈法官")
    page.get_by_label("用途（借阅时必填）").fill("庭审阅卷")
    page.get_by_label("第 1 件").check()
    page.get_by_label("或由交出方输入本人姓名确认").fill("李文")
    page.get_by_label("或由接收方输入本人姓名确认").fill("陈法官")
    page.get_by_role("button", name="登记并签名确认").click()
    assert "已登记借阅" in page.get_by_role("alert").first.inner_text()
    context.close()


def test_touch_targets_are_at_least_48_px(page, served: Served) -> None:
    login(page, served)
    for path in ("/dashboard/", "/counter/intake/new", f"/custody/?case={CASE}", "/pickup/"):
        page.goto(served.url + path)
        small = page.evaluate("""() => [...document.querySelectorAll('button, a, input:not([type=hidden]), select')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e.id || e.name || e.textContent.trim(), e.getBoundingClientRect()])
            .filter(([_, r]) => r.height < 32 || (r.height < 48 && r.width < 48))
            .map(([n, r]) => n + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))""")
        assert small == [], (path, small)
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !e.id || !document.querySelector('label[for="' + e.id + '"]')).map(e => e.name)""")
        assert unlabelled == [], (path, unlabelled)
