"""The archive office in a real browser: Debian's chromium driven by Playwright (never a downloaded browser).

Central is real (SQLite, local disk) and fed through its sync API by a stand-in
appliance; the office pages are served by uvicorn on a loopback port from this
process, on an injected clock (the day's work is 2026-03-02, the check at 20:00).
The main screens are saved to docs/screenshots/ for the README.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from central_kit import make_scanner, submit, upload
from litestar.testing import TestClient

from juanzong.central.app import create_app
from juanzong.central.appliances import enroll, read_identity
from juanzong.central.config import load_settings
from juanzong.central.home import init_home, open_central
from juanzong.central.office.app import create_office_app
from juanzong.central.office.repository import OfficeRepository
from juanzong.central.office.users import add_user

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
PASSWORD = "archive-2026-pass"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 20, 0, tzinfo=timezone(timedelta(hours=8)))

    def __call__(self) -> datetime:
        return self.now


class Office:
    """A central home with people, fed pages, and its office pages served on a free loopback port."""

    def __init__(self, root: Path) -> None:
        import uvicorn

        self.home = root / "central"
        init_home(self.home, "127.0.0.1", 8470)
        self.settings = load_settings(self.home)
        self.clock = Clock()
        self._people()
        self.scanner = make_scanner(root, _identity(self.home))
        central = open_central(self.settings)
        try:
            enroll(central.repo, read_identity(self.scanner.identity_path))
        finally:
            central.close()
        self.fed = self._feed()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        app = create_office_app(self.settings, clock=self.clock, secure=False)
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{port}"
        while not self.server.started:
            time.sleep(0.05)

    def _people(self) -> None:
        central = open_central(self.settings)
        repo = OfficeRepository(central.repo.engine)
        try:
            for uid, name, role in (("wang", "王档案", "clerk"), ("li", "李主管", "supervisor"), ("zhao", "赵审计", "auditor")):
                add_user(repo, central.repo.engine, uid, name, role, PASSWORD, actor="test", now=self.clock())
        finally:
            central.close()

    def _feed(self) -> dict[str, Any]:
        s = self.scanner
        with TestClient(create_app(self.settings)) as sync:
            intake = s.intake(submitter="北京某某律师事务所")
            complaint, evidence = s.item(intake, 2, seq=1, name="起诉状"), s.item(intake, 3, seq=2, name="证据材料")
            # the QC station approved 起诉状 under 双人质检 (the second check is still due) and kept a page it flagged
            complaint["qc"] = {"approved_by": "op-sun", "approved_at": "2026-03-02T11:30:00+08:00", "two_person": True}
            pages = [s.page(complaint, 1), s.page(complaint, 2), s.page(evidence, 1)]
            pages[1].record |= {
                "findings": [{"code": "skew", "severity": "warning", "message": "页面倾斜 2.5°"}],
                "accepted": [{"code": "skew", "reason": "原件装订所致，已核对", "by": "op-sun", "at": "2026-03-02T11:20:00+08:00"}],
            }
            upload(sync, s, pages)
            assert submit(sync, s.sign(s.manifest(1, [intake], [complaint, evidence], pages))).status_code == 201
            later = {**s.intake(submitter="张三"), "received_at": "2026-03-02T15:00:00+08:00", "deadline": "2026-03-03T12:00:00+08:00"}
            answer = s.item(later, 1, seq=1, name="答辩状")
            more = [s.page(answer, 1)]
            upload(sync, s, more)
            assert submit(sync, s.sign(s.manifest(3, [later], [answer], more))).status_code == 201  # batch 2 never came
        return {"pages": pages + more, "evidence": evidence}

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _identity(home: Path) -> dict[str, Any]:
    import json

    return json.loads((home / "central-identity.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    o = Office(tmp_path)
    yield o
    o.close()


def login(page: Any, office: Office, user: str, password: str = PASSWORD) -> None:
    page.goto(f"{office.url}/login")
    page.get_by_label("账号").fill(user)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_archive_clerk_day(browser: Any, office: Office) -> None:
    page = browser.new_page(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    for _ in range(5):
        login(page, office, "wang", "wrong-password-1")
    assert "已锁定" in page.content()
    office.clock.now += timedelta(minutes=6)
    login(page, office, "wang")
    assert page.get_by_text("1 件超期").is_visible()  # 证据材料: 1 of 3 pages at 20:00, deadline 18:00
    assert "2" in page.locator("td .tag.amber").first.inner_text()  # batch sequence number 2 never arrived
    shot(page, "office-overview.png")
    page.goto(f"{office.url}/batches")
    assert page.get_by_text("批次未收到").is_visible()  # sequence number 2 between batches 1 and 3
    shot(page, "office-batches.png")

    page.goto(f"{office.url}/cases")
    page.get_by_label("案号或收取编号").fill("[2024]京0102民初1234号")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name="（2024）京0102民初1234号").click()
    assert page.get_by_text("待扫描").count() == 0 and page.get_by_text("扫描中").count() >= 1
    shot(page, "office-case.png")
    pdf = page.request.get(f"{office.url}{page.get_by_role('link', name='打开 PDF').first.get_attribute('href')}")
    assert pdf.ok and pdf.body().startswith(b"%PDF") and pdf.headers["cache-control"] == "no-store"

    page.goto(f"{office.url}/exceptions")
    assert page.get_by_text("批次序号缺失").is_visible() and page.get_by_text("待二次质检").is_visible()
    assert page.get_by_text("页面倾斜 2.5°，op-sun 保留此页，原因：原件装订所致，已核对").is_visible()
    gap = page.locator("tr", has_text="批次序号缺失")
    gap.get_by_label("记录处理").fill("已电话通知扫描点补传第 2 批")
    gap.get_by_role("button", name="保存").click()
    assert page.get_by_text("已电话通知扫描点补传第 2 批").is_visible()
    shot(page, "office-exceptions.png")


def test_sampling_and_four_property_check(browser: Any, office: Office, tmp_path: Path) -> None:
    if not shutil.which("sigtool"):
        pytest.skip("ClamAV is installed by make test (Makefile DEBS)")
    sample = tmp_path / "virus-sample.jpg"
    sample.write_bytes(office.fed["pages"][0].plain)
    signature = tmp_path / "test.hdb"
    signature.write_text(subprocess.run(["sigtool", "--md5", str(sample)], capture_output=True, text=True, check=True).stdout)
    config = office.home / "config.toml"
    config.write_text(config.read_text("utf-8").replace('clamav_database = ""', f'clamav_database = "{signature}"'), "utf-8")
    office.close()
    restarted = _restart(office)

    page = browser.new_page(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    login(page, restarted, "wang")
    page.goto(f"{restarted.url}/sampling")
    page.get_by_label("或收取日期自").fill("2026-03-01")
    page.get_by_label("至").fill("2026-03-03")
    page.get_by_label("随机种子（可留空）").fill("2026-03-抽检")
    page.get_by_role("button", name="抽取样本").click()
    first = page.locator("section.card form").first
    first.get_by_label("不合格").check()
    first.get_by_label("图像质量").check()
    first.get_by_label("备注").fill("第 2 页模糊")
    first.get_by_role("button", name="记录").click()
    for k in range(1, page.locator("section.card form").count()):  # the other samples pass
        form = page.locator("section.card form").nth(k)
        form.get_by_label("合格", exact=True).check()
        form.get_by_role("button", name="记录").click()
    assert page.get_by_text("未达标").count() >= 1
    page.get_by_role("button", name="退出").click()
    login(page, restarted, "li")
    page.goto(f"{restarted.url}/sampling")
    page.locator("table a").first.click()
    page.get_by_role("button", name="主管签核").click()
    assert page.get_by_text("已由 li").is_visible()
    shot(page, "office-sampling.png")

    page.goto(f"{restarted.url}/checks")
    # the batch holding the page the test signature matches (both batches arrive within one second:
    # the list's default, the newest, is either of them)
    batch_one = page.locator("#batch_id option", has_text="第 1 批").get_attribute("value")
    page.select_option("#batch_id", batch_one)
    page.get_by_role("button", name="检测").click()
    assert page.get_by_text("发现恶意代码特征").is_visible()
    shot(page, "office-four-property.png")
    page.goto(f"{restarted.url}/audit")
    assert page.get_by_text("审计链完整").is_visible()
    shot(page, "office-audit.png")


def _restart(office: Office) -> Office:
    """The same home, served again (settings are read once per process, as in production)."""
    import uvicorn

    app = create_office_app(load_settings(office.home), clock=office.clock, secure=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    office.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    office.thread = threading.Thread(target=office.server.run, daemon=True)
    office.thread.start()
    office.url = f"http://127.0.0.1:{port}"
    while not office.server.started:
        time.sleep(0.05)
    return office


def test_exports_and_backup_buttons_show_progress_and_verification(browser: Any, office: Office, tmp_path: Path) -> None:
    from juanzong.central.backup import keygen
    from juanzong.central.export.jobs import Scope, run_export

    keygen(tmp_path / "recovery.key", office.home)
    page = browser.new_page(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    login(page, office, "wang")

    # a task still running: its page reloads itself (meta refresh, no JavaScript) until it has finished
    release = threading.Event()

    state = office.app.state.office
    out = state.central.settings.office_export_dir / "zip-held"

    def held(progress: Any) -> dict[str, Any]:  # a real ZIP export, held at its start until the page has been seen
        progress(0, 3, "正在读取卷宗")
        release.wait(60)
        return run_export(state.central, "zip", out, Scope(), actor="wang", now=office.clock(), progress=progress)

    task = state.tasks.start("export", "导出：每件材料一个 ZIP", "wang", str(out), held)
    page.goto(f"{office.url}/jobs/{task.task_id}")
    assert page.locator("#task-state").inner_text() == "进行中" and page.get_by_text("本页每 2 秒自动刷新").is_visible()
    release.set()
    page.wait_for_selector("#task-state:text('已完成')", timeout=30_000)  # the browser reloaded on its own
    assert len(list(out.glob("*.zip"))) == 3

    page.goto(f"{office.url}/exports")
    page.locator("#run-dossier").click()
    page.wait_for_selector("#task-state:text('已完成')", timeout=120_000)
    assert "/jobs/" in page.url and page.get_by_text("100%").is_visible()

    page.goto(f"{office.url}/exports")
    assert page.get_by_label("副本数").input_value() == "2" and page.get_by_text("本档案室要求至少 2 份副本").is_visible()
    page.locator("#run-backup").click()
    page.wait_for_selector("#task-state:text('已完成')", timeout=300_000)
    assert page.get_by_text("全部副本回读校验通过").is_visible()
    shot(page, "office-backup-job.png")
    page.goto(f"{office.url}/exports")
    assert page.locator("#backups").get_by_text("2 份全部回读校验通过").is_visible()
    page.locator("#backups").get_by_role("button", name="重新校验").click()  # the disks read back again later
    page.wait_for_selector("#task-state:text('已完成')", timeout=300_000)
    page.goto(f"{office.url}/exports")
    assert page.locator("#backups").get_by_text("重新校验：全部通过").is_visible()
    shot(page, "office-exports.png")
