"""The QC station in a real browser: Debian's chromium driven by Playwright (as the kiosk tests).

One appliance and its operators (argon2 is slow) serve the whole module; every test registers
its own handover, scans real JPEG pages through the real ingest, and drives the station with
touch-sized buttons. Screens are saved to docs/screenshots/qc-*.png for the README.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace

import pytest
from edge_kit import cover_for, register
from kiosk_kit import PINS, make_kiosk

from juanzong.edge.appliance import Appliance
from juanzong.edge.repo import state, write_tx
from juanzong.edge.repo.state import StateKey
from juanzong.edge.tooling.pages import degrade, text_page
from juanzong.edge.tooling.scanner import SimulatedScanner

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


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Station:
    """The appliance, its kiosk app served by waitress on loopback, and a scanner feeding it."""

    def __init__(self, root: Path) -> None:
        from waitress import create_server

        self.central = _central(root)
        self.kiosk = make_kiosk(root, self.central)
        self.settings, self.db = self.kiosk.settings, self.kiosk.db
        self.scanner = SimulatedScanner(self.settings.hot_folder)
        self.server = create_server(self.kiosk.app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        threading.Thread(target=self.server.run, daemon=True).start()
        self.seed = 0

    def handover(self, items):
        return register(self.db, self.settings, items=items)

    def scan(self, images) -> None:
        self.scanner.write_many(list(images), quality=60)
        Appliance(self.settings).ingest_once()

    def pages(self, n: int):
        self.seed += n
        return [text_page(self.seed * 7 + i) for i in range(n)]

    def numbered(self, item_id: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM pages WHERE item_id = ? AND role = 'page' ORDER BY page_no", [item_id])]

    def audited(self, action: str, target: str) -> list[tuple[str, str]]:
        return self.db.execute("SELECT actor, outcome FROM audit WHERE action = ? AND target = ? ORDER BY seq", [action, target]).fetchall()

    def files(self) -> set[tuple[str, int]]:
        """Every file of the appliance's home (name, size); the database files change size on writes, not names."""
        home = self.settings.home
        return {
            (str(p.relative_to(home)), 0 if p.name.startswith("juanzong.db") or ".db" in p.name else p.stat().st_size)
            for p in home.rglob("*")
            if p.is_file()
        }


def _central(root: Path) -> SimpleNamespace:
    """A central identity for the module's appliance (the conftest fixture is per test)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from juanzong.shared import crypto

    hpke, signing = X25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    path = root / "central-identity.json"
    path.write_text(
        json.dumps(
            {
                "central_id": "C-TEST",
                "url": "",
                "hpke_public": crypto.b64(crypto.public_bytes(hpke.public_key())),
                "signing_public": crypto.b64(crypto.public_bytes(signing.public_key())),
            }
        ),
        "utf-8",
    )
    return SimpleNamespace(hpke=hpke, signing=signing, identity_file=path)


@pytest.fixture(scope="module")
def station(tmp_path_factory) -> Iterator[Station]:
    s = Station(tmp_path_factory.mktemp("qc"))
    yield s
    s.server.close()
    s.db.close()


@pytest.fixture
def page(browser, station: Station) -> Iterator:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN", has_touch=True)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login(page, station: Station, operator_id: str = "O01") -> None:
    page.goto(station.url + "/login")
    page.get_by_label("工号").fill(operator_id)
    page.get_by_label("密码").fill(PINS[operator_id])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/dashboard/")


def open_item(page, station: Station, item_id: str) -> None:
    page.goto(f"{station.url}/qc/item/{item_id}")


def flash(page) -> str:
    return page.locator("p.flash").first.inner_text()


def thumbs_loaded(page) -> int:
    return page.evaluate("Array.from(document.querySelectorAll('#pages img')).filter(i => i.complete && i.naturalWidth > 0).length")


# ---------------------------------------------------------------- journeys


def test_scan_arrives_while_the_item_page_is_open_and_thumbnails_never_touch_disk(page, station: Station) -> None:
    intake = station.handover((("民事起诉状", 4), ("证据材料", 2)))
    item = intake.items[0].item_id
    station.scan([cover_for(intake, 0), *station.pages(2)])
    login(page, station)
    before = station.files()

    page.goto(station.url + "/qc/")
    row = page.locator(f'tr[data-item="{item}"]')
    assert "扫描中" in row.inner_text() and "2/4" in row.inner_text()
    row.get_by_role("link").click()
    page.wait_for_function("document.querySelectorAll('#pages img').length === 2")
    page.wait_for_function("Array.from(document.querySelectorAll('#pages img')).every(i => i.complete && i.naturalWidth > 0)")
    response = page.request.get(f"{station.url}/qc/page/{station.numbered(item)[0]}/thumb.jpg")
    assert response.headers["cache-control"].startswith("no-store") and response.body()[:2] == b"\xff\xd8"
    page.get_by_role("link", name="查看第 1 页大图").click()
    page.wait_for_function("document.getElementById('large').naturalWidth > 0")
    assert station.files() == before  # decrypted and scaled in memory only: nothing new or grown on disk

    open_item(page, station, item)
    station.scan(station.pages(2) + [degrade(text_page(999), "rot3")])  # the scanner goes on: the page grid follows
    page.wait_for_function("document.querySelectorAll('#pages [data-page]').length === 5", timeout=20000)
    assert page.locator("#scanned").inner_text() == "5" and page.locator("#item-state").inner_text() == "待处理"
    assert page.locator('[data-page-no="5"] .badge.red').count() >= 1  # the skewed page is marked
    page.wait_for_function("Array.from(document.querySelectorAll('#pages img')).every(i => i.complete && i.naturalWidth > 0)")
    shot(page, "qc-02-item-pages")
    page.goto(station.url + "/qc/")
    shot(page, "qc-01-work-list")
    assert station.audited("qc_view", item)[0] == ("O01", "ok")


def test_move_two_pages_to_another_item(page, station: Station) -> None:
    intake = station.handover((("民事起诉状", 3), ("证据材料", 3)))
    a, b = intake.items[0].item_id, intake.items[1].item_id
    station.scan([cover_for(intake, 0), *station.pages(5), cover_for(intake, 1), *station.pages(1)])
    moving = station.numbered(a)[3:]
    login(page, station)
    open_item(page, station, a)
    page.get_by_label("选择第 4 页").check()
    page.get_by_label("选择第 5 页").check()
    page.get_by_label("移到材料").select_option(b)
    page.get_by_role("button", name="移动选中的页面").click()
    assert "已将 2 页移到另一材料" in flash(page)
    assert len(station.numbered(a)) == 3 and station.numbered(b)[1:] == moving
    assert station.audited("qc_move_pages", b) == [("O01", "ok")]


def test_insert_a_page_from_the_unassigned_queue(page, station: Station) -> None:
    intake = station.handover((("答辩状", 3),))
    item = intake.items[0].item_id
    with write_tx(station.db):
        state.put(station.db, StateKey.ACTIVE_ITEM, None)
    station.scan(station.pages(1))  # no cover sheet in front of it: the unassigned queue
    loose = station.db.execute("SELECT id FROM pages WHERE item_id IS NULL AND role = 'page' ORDER BY scanned_at DESC").fetchone()[0]
    station.scan([cover_for(intake, 0), *station.pages(2)])
    login(page, station)
    page.goto(station.url + "/qc/")
    assert page.locator("#unassigned figure").count() >= 1
    open_item(page, station, item)
    page.locator(f'#insert-form input[value="{loose}"]').check()
    page.get_by_label("插入为第几页（空 = 放在最后）").fill("1")
    page.get_by_role("button", name="插入", exact=True).click()
    assert "页面已插入为第 1 页" in flash(page)
    assert station.numbered(item)[0] == loose and len(station.numbered(item)) == 3
    assert station.audited("qc_assign", loose) == [("O01", "ok")]


def test_reorder_rotate_accept_and_discard(page, station: Station) -> None:
    intake = station.handover((("庭审笔录", 4),))
    item = intake.items[0].item_id
    station.scan([cover_for(intake, 0), *station.pages(3), degrade(text_page(777), "rot3")])
    first, second, third, skewed = station.numbered(item)
    login(page, station)
    open_item(page, station, item)

    page.get_by_role("button", name="第 1 页下移").click()
    assert station.numbered(item) == [second, first, third, skewed]
    page.get_by_role("button", name="第 2 页顺时针旋转").click()
    assert station.db.execute("SELECT rotation FROM pages WHERE id = ?", [first]).fetchone()[0] == 90
    assert page.locator('[data-page-no="2"]').get_by_text("↻90°").is_visible()

    page.get_by_role("link", name="查看第 4 页大图").click()
    page.get_by_label("移到第几页（1–4）").fill("1")
    page.get_by_role("button", name="移动", exact=True).click()
    assert station.numbered(item)[0] == skewed
    page.get_by_role("link", name="查看第 1 页大图").click()
    page.wait_for_function("document.getElementById('large').naturalWidth > 0")
    shot(page, "qc-03-page-view")
    code = json.loads(station.db.execute("SELECT findings FROM pages WHERE id = ?", [skewed]).fetchone()[0])[0]["code"]
    page.get_by_label("保留此页的原因").first.fill("原件即倾斜装订")
    page.get_by_role("button", name="确认保留").first.click()
    assert "质检问题已确认保留" in flash(page)
    assert json.loads(station.db.execute("SELECT accepted FROM pages WHERE id = ?", [skewed]).fetchone()[0])[0]["code"] == code
    page.get_by_label("作废原因（必填）").fill("重复扫描")
    page.get_by_role("button", name="作废此页").click()
    assert "页面已作废" in flash(page)
    assert station.numbered(item) == [second, first, third]
    assert page.locator("#discarded").inner_text().count("重复扫描") == 1

    for action, target in (("qc_move", first), ("qc_rotate", first), ("qc_move", skewed), ("qc_override", skewed), ("qc_discard", skewed)):
        assert ("O01", "ok") in station.audited(action, target), action


def test_approve_with_and_without_a_reason_and_two_person_check(page, station: Station) -> None:
    intake = station.handover((("民事起诉状", 3), ("证据材料", 2)))
    short, evidence = intake.items[0].item_id, intake.items[1].item_id
    station.scan([cover_for(intake, 0), *station.pages(2), cover_for(intake, 1), *station.pages(2)])
    login(page, station)

    open_item(page, station, short)
    page.get_by_role("button", name="批准", exact=True).click()
    assert "申报 3 页，实际扫描 2 页" in flash(page)
    page.get_by_label("批准原因（申报与实扫页数不一致时必填）").fill("当事人当场撤回第 3 页")
    page.get_by_role("button", name="批准", exact=True).click()
    assert page.locator("#item-state").inner_text() == "已批准"
    assert "当事人当场撤回第 3 页" in page.locator("#approval").inner_text()

    open_item(page, station, evidence)
    page.get_by_role("button", name="批准", exact=True).click()  # counts match: no reason needed
    assert page.locator("#item-state").inner_text() == "待复核"
    page.get_by_role("button", name="复核通过").click()
    assert "复核须由另一名操作员完成" in flash(page)
    shot(page, "qc-04-two-person-refused")
    page.get_by_role("button", name="退出登录").click()
    login(page, station, "S01")
    open_item(page, station, evidence)
    page.get_by_role("button", name="复核通过").click()
    assert page.locator("#item-state").inner_text() == "已批准"
    assert station.audited("qc_approve", short) == [("O01", "refused"), ("O01", "ok")]
    assert station.audited("qc_check", evidence) == [("O01", "refused"), ("S01", "ok")]

    page.get_by_label("重新打开的原因（必填）").fill("复核发现缺少附件")
    page.get_by_role("button", name="重新打开").click()
    assert page.locator("#item-state").inner_text() == "扫描中"
    assert station.audited("reopen_item", evidence) == [("S01", "ok")]


def test_quarantine_retry_and_discard(page, station: Station) -> None:
    for name in ("jam-1.jpg", "jam-2.jpg"):
        (station.settings.hot_folder / name).write_bytes(b"\xff\xd8\xff\xe0 torn off by a paper jam")
    Appliance(station.settings).ingest_once()
    retry, drop = (
        r[0] for r in station.db.execute("SELECT id FROM quarantine WHERE source_name IN ('jam-1.jpg', 'jam-2.jpg') ORDER BY source_name")
    )
    login(page, station)
    page.goto(station.url + "/qc/")
    assert "jam-1.jpg" in page.locator(f'tr[data-qid="{retry}"]').inner_text()
    shot(page, "qc-05-quarantine")
    page.locator(f'tr[data-qid="{retry}"]').get_by_role("button", name="重新导入").click()
    assert "已放回扫描文件夹重新导入" in flash(page)
    assert any(p.name.startswith(f"retry-{retry}") for p in station.settings.hot_folder.iterdir())
    row = page.locator(f'tr[data-qid="{drop}"]')
    row.get_by_placeholder("丢弃原因（必填）").fill("卡纸残片，已重新扫描")
    row.get_by_role("button", name="丢弃").click()
    assert "隔离文件已丢弃" in flash(page)
    assert page.locator(f'tr[data-qid="{drop}"]').count() == 0
    assert station.audited("quarantine_retry", retry) == [("O01", "ok")]
    assert station.audited("quarantine_discard", drop) == [("O01", "ok")]


def test_the_station_shows_batches_waiting_to_be_carried_and_the_last_carry(page, station: Station, tmp_path: Path) -> None:
    """An air-gapped point: a batch written on the registered medium waits for central's receipt,
    a batch sealed after that carry waits to be written; the last carry is named."""
    from datetime import timedelta

    from juanzong.edge import media
    from juanzong.edge.batches import seal
    from juanzong.edge.blobstore import BlobStore
    from juanzong.edge.keys import load_keys
    from juanzong.shared import clock
    from juanzong.shared.ids import Kind, new_id
    from juanzong.shared.manifest import sign_document
    from juanzong.shared.media import Registration, signed_bytes

    cfg, keys = station.settings, load_keys(station.settings.keys_dir)
    issued = station.kiosk.clock.now.astimezone(UTC)
    reg = Registration(
        new_id(Kind.MEDIUM),
        cfg.appliance_id,
        "一号U盘",
        issued.isoformat(timespec="seconds"),
        (issued + timedelta(days=30)).isoformat(timespec="seconds"),
        "C-TEST",
    )
    registration = tmp_path / "registration.json"
    registration.write_bytes(signed_bytes(sign_document(reg.to_doc(), station.central.signing)))
    device = tmp_path / "stick"
    device.mkdir()
    intake = station.handover((("民事起诉状", 2),))
    station.scan([cover_for(intake, 0), *station.pages(2)])
    with clock.use(lambda: station.kiosk.clock.now):
        media.init_medium(station.db, cfg.appliance_id, keys, registration, device, actor="S01", now=station.kiosk.clock.now)
        carried = media.export(
            station.db, cfg.appliance_id, keys, BlobStore(cfg.blob_dir), device, actor="O01", now=station.kiosk.clock.now
        ).batches
        station.kiosk.clock.advance(minutes=5)
        later = station.handover((("答辩状", 1),))
        station.scan([cover_for(later, 0), *station.pages(1)])
        fresh = seal(station.db, cfg.appliance_id, keys)
    assert carried and fresh is not None

    login(page, station)
    page.goto(station.url + "/qc/")
    card = page.locator("#carry-state")
    assert f"待送交 {len(carried) + 1} 个批次" in page.locator("#carry-title").inner_text()
    assert f"上次拷贝：2026-03-02 10:00，介质“一号U盘”，{len(carried)} 个批次" in card.inner_text()
    assert "有效登记介质 1 个" in card.inner_text()
    for batch_id in carried:
        assert "已写入介质，待中心回执" in card.locator(f'tr[data-batch="{batch_id}"]').inner_text()
    new_row = card.locator(f'tr[data-batch="{fresh}"]')
    assert "待写入介质" in new_row.inner_text() and "2026-03-02 10:05" in new_row.inner_text()
    page.locator("#carry-title").scroll_into_view_if_needed()
    shot(page, "qc-06-carry")
