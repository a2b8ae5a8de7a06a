"""The archive office's pages on a real central (real database, real sealed pages through the receive path).

The clock is injected: an item received on 2026-03-02 10:30 with its deadline at
18:00 is overdue at 20:00 that day, whatever today is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from central_kit import Scanner, submit, upload
from hash_once import hashed_once
from litestar.testing import TestClient
from store_kit import overwrite_blob, raw_blob

from juanzong.central import audit
from juanzong.central.app import create_app
from juanzong.central.config import CentralSettings
from juanzong.central.home import open_central
from juanzong.central.office import users as office_users
from juanzong.central.office.app import create_office_app
from juanzong.central.office.repository import OfficeRepository
from juanzong.central.office.users import add_user

PASSWORD = "archive-2026-pass"
EVENING = datetime(2026, 3, 2, 20, 0, tzinfo=timezone(timedelta(hours=8)))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def people(settings: CentralSettings) -> dict[str, str | None]:
    central = open_central(settings)
    repo, now = OfficeRepository(central.repo.engine), datetime(2026, 3, 1, tzinfo=UTC)
    try:
        with hashed_once(office_users, "_hasher"):
            tokens = {
                uid: add_user(
                    repo, central.repo.engine, uid, name, role, None if role == "case_system" else PASSWORD, actor="test", now=now
                )
                for uid, name, role in (
                    ("wang", "王档案", "clerk"),
                    ("li", "李主管", "supervisor"),
                    ("zhao", "赵审计", "auditor"),
                    ("case", "案件系统", "case_system"),
                )
            }
    finally:
        central.close()
    return tokens


@pytest.fixture
def clock() -> Clock:
    return Clock(EVENING)


@pytest.fixture
def office(settings: CentralSettings, people: Any, clock: Clock):
    with TestClient(create_office_app(settings, clock=clock, secure=False)) as client:
        yield client


def login(client: TestClient, user: str, password: str = PASSWORD) -> Any:
    client.get("/login")
    return client.post(
        "/login", data={"user_id": user, "password": password, "_csrf_token": client.cookies.get("jz_csrf")}, follow_redirects=False
    )


def post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "_csrf_token": client.cookies.get("jz_csrf")}, follow_redirects=False)


def feed(sync: TestClient, scanner: Scanner, *, seq: int = 1, complete: bool = True) -> dict[str, Any]:
    intake = scanner.intake(submitter="北京某某律师事务所")
    item = scanner.item(intake, 3, seq=1, name="起诉状")
    late = scanner.item(intake, 2, seq=2, name="证据材料")
    pages = [scanner.page(item, n) for n in (1, 2, 3)] + ([scanner.page(late, 1)] if not complete else [])
    upload(sync, scanner, pages)
    assert submit(sync, scanner.sign(scanner.manifest(seq, [intake], [item, late], pages))).status_code == 201
    return {"intake": intake, "item": item, "late": late, "pages": pages}


@pytest.fixture
def sync(settings: CentralSettings):
    with TestClient(create_app(settings)) as client:
        yield client


def test_login_lockout_and_idle_logout(office: TestClient, clock: Clock, settings: CentralSettings) -> None:
    assert office.get("/", follow_redirects=False).headers["location"].startswith("/login")
    for _ in range(4):
        assert login(office, "wang", "wrong-password-1").status_code == 401
    locked = login(office, "wang", "wrong-password-1")
    assert locked.status_code == 401 and "已锁定" in locked.text and "LOGIN_LOCKED" in locked.text
    assert login(office, "wang").status_code == 401  # the right password, but locked
    clock.now += timedelta(minutes=6)
    ok = login(office, "wang")
    assert ok.status_code == 303 and "HttpOnly" in ok.headers["set-cookie"] and "SameSite=strict" in ok.headers["set-cookie"]
    assert office.get("/").status_code == 200
    clock.now += timedelta(minutes=settings.office_idle_minutes + 1)
    assert office.get("/", follow_redirects=False).status_code == 303
    central = open_central(settings)
    try:
        outcomes = [(r.action, r.outcome, r.detail.get("reason")) for r, _ in audit.records(central.repo.engine)]
    finally:
        central.close()
    assert ("login", "refused", "locked") in outcomes and ("logout", "ok", "idle") in outcomes


def test_forms_need_the_csrf_token_and_roles_are_enforced(office: TestClient) -> None:
    login(office, "zhao")
    assert office.get("/audit").status_code == 200  # auditor: the audit view
    refused = office.post(
        "/exceptions/resolve", data={"kind": "x", "target": "y", "action": "z", "_csrf_token": office.cookies.get("jz_csrf")}
    )
    assert refused.status_code == 403 and "ROLE_FORBIDDEN" in refused.text
    login(office, "wang")
    assert office.get("/audit").status_code == 403  # a clerk does not read the audit view
    no_token = office.post("/exceptions/resolve", data={"kind": "x", "target": "y", "action": "z"})
    assert no_token.status_code == 403 and "CSRF_INVALID" in no_token.text
    assert "Traceback" not in no_token.text


def test_overview_marks_the_overdue_item_and_a_sequence_gap(office: TestClient, sync: TestClient, scanner: Scanner) -> None:
    feed(sync, scanner, seq=1, complete=False)
    feed(sync, scanner, seq=3)  # batch 2 never arrived
    login(office, "wang")
    page = office.get("/").text
    # both 证据材料 items are past 18:00: one half scanned, one not scanned at all
    assert "2 件超期" in page and "证据材料" in page and "2026年3月2日 18:00" in page
    assert re.search(r'tag amber">2<', page), "sequence number 2 is shown as missing"
    queue = office.get("/exceptions").text
    assert "批次序号缺失" in queue and "漏扫" in queue


def test_case_search_in_any_bracket_form_and_reading_is_audited(
    office: TestClient, sync: TestClient, scanner: Scanner, settings: CentralSettings
) -> None:
    fed = feed(sync, scanner)
    login(office, "wang")
    for query in ("(2024)京0102民初1234号", "〔2024〕京0102民初1234号", "[2024]京0102民初1234号", fed["intake"]["intake_id"]):
        assert "（2024）京0102民初1234号" in office.get("/cases", params={"q": query}).text, query
    case = office.get("/cases/（2024）京0102民初1234号").text
    assert "起诉状" in case and "待扫描" in case  # 证据材料: nothing scanned yet is 待扫描, not 漏扫
    pdf = office.get(f"/items/{fed['item']['item_id']}/document")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["cache-control"] == "no-store"
    image = office.get(f"/pages/{fed['pages'][0].record['page_id']}/image")
    assert image.content == fed["pages"][0].plain
    central = open_central(settings)
    try:
        reads = [(r.actor, r.target, r.detail.get("what")) for r, _ in audit.records(central.repo.engine) if r.action == "read"]
    finally:
        central.close()
    assert ("wang", fed["item"]["item_id"], "document") in reads
    assert ("wang", fed["pages"][0].record["page_id"], "page image") in reads


def test_sampling_round_with_a_failed_sample_and_a_supervisors_sign_off(office: TestClient, sync: TestClient, scanner: Scanner) -> None:
    feed(sync, scanner)
    login(office, "wang")
    assert "比例须在" in post(office, "/sampling/draw", {"percent": "3", "date_from": "2026-03-01", "date_to": "2026-03-03"}).text
    drawn = post(office, "/sampling/draw", {"percent": "5", "date_from": "2026-03-01", "date_to": "2026-03-03", "seed": "fixed-seed"})
    round_path = drawn.headers["location"]
    page = office.get(round_path).text
    item_id = re.search(r'name="item_id" value="(\w+)"', page).group(1)
    assert "fixed-seed" in page
    refused = post(office, f"{round_path}/verdict", {"item_id": item_id, "verdict": "fail"})
    assert "至少一个缺陷类别" in refused.text
    post(office, f"{round_path}/verdict", {"item_id": item_id, "verdict": "fail", "defects": "image", "note": "第2页模糊"})
    page = office.get(round_path).text
    assert "未达标" in page and "0.0%" in page
    assert "SAMPLING_SAME_PERSON" in post(office, f"{round_path}/signoff", {}).text  # a clerk cannot sign off
    login(office, "li")
    post(office, f"{round_path}/signoff", {})
    assert "已由 li" in office.get(round_path).text
    report = office.get(f"{round_path}/report.pdf")
    assert report.content.startswith(b"%PDF")


def test_same_seed_draws_the_same_sample(sync: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    from juanzong.central.office.sampling import candidates, draw

    for seq in (1, 2, 3):
        feed(sync, scanner, seq=seq)
    central = open_central(settings)
    try:
        pool = candidates(central.repo, date_from="2026-03-01", date_to="2026-03-03")
    finally:
        central.close()
    assert draw(pool, 5, "abc") == draw(list(reversed(pool)), 5, "abc")
    assert len(draw(pool, 50, "abc")) == 2  # ceil(3 × 50 %) of the one category


@pytest.mark.skipif(not shutil.which("clamscan"), reason="ClamAV is installed by make test (Makefile DEBS)")
def test_four_property_check_flags_a_corrupted_blob_and_a_virus_signature(
    office: TestClient, sync: TestClient, scanner: Scanner, settings: CentralSettings, tmp_path: Path
) -> None:
    fed = feed(sync, scanner)
    sample = tmp_path / "sample.jpg"
    sample.write_bytes(fed["pages"][1].plain)
    signature = tmp_path / "test.hdb"
    signature.write_text(subprocess.run(["sigtool", "--md5", str(sample)], capture_output=True, text=True, check=True).stdout)
    config = settings.home / "config.toml"
    config.write_text(config.read_text("utf-8").replace('clamav_database = ""', f'clamav_database = "{signature}"'), "utf-8")
    sha = fed["pages"][2].sealed.sha256
    data = bytearray(raw_blob(settings, sha))
    data[-3] ^= 0xFF
    overwrite_blob(settings, sha, bytes(data))
    with TestClient(create_office_app(_reloaded(settings), clock=Clock(EVENING), secure=False)) as client:
        login(client, "wang")
        done = post(client, "/checks/run", {"batch_id": _batch_id(settings)})
        report = client.get(done.headers["location"]).text
    assert "未通过" in report
    assert "YJ-ZS-3-1" in report and f"{fed['pages'][2].record['page_id']}：数据块哈希不符" in report
    assert f"{fed['pages'][1].record['page_id']}：发现恶意代码特征" in report
    assert "YJ-ZS-1-1" in report and "YJ-KY-2-2" in report


def _reloaded(settings: CentralSettings) -> CentralSettings:
    from juanzong.central.config import load_settings

    return load_settings(settings.home)


def _batch_id(settings: CentralSettings) -> str:
    from sqlalchemy import select

    from juanzong.central import db

    central = open_central(settings)
    try:
        with central.repo.engine.connect() as conn:
            return conn.execute(select(db.batches.c.batch_id)).scalar()
    finally:
        central.close()


def test_audit_view_shows_the_chain_broken_after_an_edit(office: TestClient, settings: CentralSettings) -> None:
    from sqlalchemy import create_engine, text

    login(office, "zhao")
    assert "审计链完整" in office.get("/audit").text
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:  # an edit behind the application's back
        conn.execute(text("UPDATE audit SET actor = 'someone-else' WHERE seq = 2"))
    engine.dispose()
    page = office.get("/audit", params={"actor": "wang"}).text
    assert "审计链在第 2 条记录处断开" in page


def test_user_commands(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    from central_kit import run_cli

    sys.stdin = io.StringIO("a-long-password-9\n")
    try:
        rc, out = run_cli(["user", "add", "--home", str(home), "--id", "chen", "--name", "陈档案", "--role", "clerk"], capsys)
    finally:
        sys.stdin = sys.__stdin__
    assert rc == 0 and "已添加账号 chen" in out
    rc, out = run_cli(["user", "add", "--home", str(home), "--id", "cms", "--name", "案件系统", "--role", "case_system"], capsys)
    assert "接口令牌" in out
    run_cli(["user", "disable", "--home", str(home), "--id", "chen"], capsys)
    rc, out = run_cli(["user", "list", "--home", str(home)], capsys)
    assert "chen\t陈档案\t档案员\t已停用" in out and "cms\t案件系统\t案件系统接口\t正常" in out


def test_case_system_reads_a_document_with_its_token_only(
    office: TestClient, sync: TestClient, scanner: Scanner, people: dict[str, Any], settings: CentralSettings
) -> None:
    fed = feed(sync, scanner)
    path = f"/api/documents/{fed['item']['item_id']}"
    refused = office.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert refused.status_code == 401 and refused.json()["error"] == "API_TOKEN_INVALID"
    ok = office.get(path, headers={"Authorization": f"Bearer {people['case']}"})
    assert ok.status_code == 200 and ok.content.startswith(b"%PDF")
    assert login(office, "case", people["case"]).status_code == 401  # a token is not a password
    central = open_central(settings)
    try:
        assert any(r.actor == "case" and r.detail.get("via") == "api" for r, _ in audit.records(central.repo.engine))
    finally:
        central.close()


def test_exception_queue_shows_qc_overrides_and_second_checks_with_the_action_taken(
    office: TestClient, sync: TestClient, scanner: Scanner, settings: CentralSettings
) -> None:
    """The QC station's decisions travel inside the item and page records through the sync path."""
    intake = scanner.intake()
    overridden = scanner.item(intake, 3, seq=1, name="起诉状") | {
        "qc": {"approved_by": "op-sun", "approved_at": "2026-03-02T11:30:00+08:00", "reason": "原件缺第3页，当事人确认"},
        "discarded_pages": 1,
    }
    waiting = scanner.item(intake, 1, seq=2, name="证据目录") | {
        "qc": {"approved_by": "op-sun", "approved_at": "2026-03-02T11:40:00+08:00", "two_person": True}
    }
    kept, second, third = scanner.page(overridden, 1), scanner.page(overridden, 2), scanner.page(waiting, 1)
    kept.record |= {
        "findings": [{"code": "blank_page", "severity": "warning", "message": "疑似空白页"}],
        "accepted": [{"code": "blank_page", "reason": "原件此页确为空白", "by": "op-sun", "at": "2026-03-02T11:20:00+08:00"}],
    }
    dropped = scanner.page(overridden, None)
    dropped.record |= {"role": "discarded", "discard_reason": "误扫的隔页纸"}
    pages = [kept, second, third, dropped]
    upload(sync, scanner, pages)
    assert submit(sync, scanner.sign(scanner.manifest(1, [intake], [overridden, waiting], pages))).status_code == 201
    login(office, "wang")
    queue = office.get("/exceptions").text
    assert "质检放行" in queue and "op-sun 批准放行，原因：原件缺第3页，当事人确认" in queue
    assert "待二次质检" in queue and "证据目录：op-sun 已批准，尚待第二人复核" in queue
    assert "起诉状 第 1 页：疑似空白页，op-sun 保留此页，原因：原件此页确为空白" in queue
    assert "作废页面" in queue and "原因：误扫的隔页纸" in queue
    case = office.get("/cases/（2024）京0102民初1234号").text  # the case page shows the same sign-offs
    assert "op-sun 批准；批准原因：原件缺第3页，当事人确认" in case and "作废 1 页" in case
    assert "待二次质检" in case and "op-sun 已批准" in case
    done = post(office, "/exceptions/resolve", {"kind": "qc_second_check", "target": waiting["item_id"], "action": "已通知质检组长复核"})
    assert done.status_code == 303
    row = re.search(r"待二次质检.*?</tr>", office.get("/exceptions").text, re.S).group(0)
    assert "已通知质检组长复核" in row and "wang" in row
    central = open_central(settings)
    try:
        actions = [
            (r.actor, r.target, r.detail.get("note")) for r, _ in audit.records(central.repo.engine) if r.action == "exception_action"
        ]
    finally:
        central.close()
    assert ("wang", waiting["item_id"], "已通知质检组长复核") in actions


def test_exports_page_shows_the_required_backup_copies_and_refuses_fewer(
    office: TestClient, settings: CentralSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from central_kit import run_cli

    run_cli(["backup", "keygen", "--home", str(settings.home), "--out", str(tmp_path / "recovery.key")], capsys)
    login(office, "wang")
    page = office.get("/exports").text
    assert "本档案室要求至少 2 份副本" in page and 'name="copies" type="number" min="2"' in page
    refused = post(office, "/backups", {"copies": "1"})
    assert refused.status_code == 400 and "BACKUP_COPIES_TOO_FEW" in refused.text and "至少 2 份" in refused.text


def test_export_and_backup_buttons_run_in_the_background_with_progress(
    office: TestClient, sync: TestClient, scanner: Scanner, settings: CentralSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from central_kit import run_cli

    fed = feed(sync, scanner)
    run_cli(["backup", "keygen", "--home", str(settings.home), "--out", str(tmp_path / "recovery.key")], capsys)
    tasks = office.app.state.office.tasks
    login(office, "wang")
    started = post(office, "/exports/dossier", {"xml": "1"})
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    task = tasks.wait(started.headers["location"].rsplit("/", 1)[1], timeout=120)
    done = office.get(started.headers["location"]).text
    assert "已完成" in done and "100%" in done and 'http-equiv="refresh"' not in done
    assert task.result["items"] == 2 and Path(task.out, "（2024）京0102民初1234号", "index.xml").exists()
    assert task.result["unscanned"] == [fed["late"]["item_id"]]  # 证据材料: 待扫描, in the index without a file

    started = post(office, "/backups", {"copies": "2"})
    task = tasks.wait(started.headers["location"].rsplit("/", 1)[1], timeout=300)
    done = office.get(started.headers["location"]).text
    assert task.verified and "全部副本回读校验通过" in done and done.count("通过</td>") == 2
    page = office.get("/exports").text
    assert "2 份全部回读校验通过" in page and "案件系统卷宗" in page and "离线备份（2 份）" in page

    # later a disk rots: reading the backup back again names the changed file and the page shows the new state
    second = Path(task.result["copies"][1]["path"])
    blob = sorted((second / "data" / "blobs").iterdir())[0]
    blob.write_bytes(blob.read_bytes()[:-1] + bytes([blob.read_bytes()[-1] ^ 0xFF]))
    seq = re.search(r'name="seq" value="(\d+)"', page).group(1)
    started = post(office, "/backups/verify", {"seq": seq})
    task = tasks.wait(started.headers["location"].rsplit("/", 1)[1], timeout=300)
    checked = office.get(started.headers["location"]).text
    assert task.verified is False and f"被改动：data/blobs/{blob.name}" in checked and "有副本回读校验未通过" in checked
    assert "重新校验：1 份未通过" in office.get("/exports").text
    assert post(office, "/backups/verify", {"seq": "99999"}).status_code == 404  # only a recorded backup's copies


def test_a_running_task_page_refreshes_itself_and_a_second_task_waits(office: TestClient) -> None:
    import threading

    tasks = office.app.state.office.tasks
    release = threading.Event()

    def slow(progress: Any) -> dict[str, Any]:
        progress(3, 10, "已处理 3/10 件材料：起诉状")
        release.wait(60)
        return {"items": 10}

    task = tasks.start("export", "导出：案件系统卷宗", "wang", "/tmp/nowhere", slow)
    login(office, "wang")
    try:
        running = office.get(f"/jobs/{task.task_id}").text
        assert '<meta http-equiv="refresh" content="2">' in running and "进行中" in running
        assert 'progress value="30"' in running and "已处理 3/10 件材料" in running
        busy = post(office, "/exports/zip", {})
        assert busy.status_code == 409 and "OFFICE_JOB_BUSY" in busy.text and "正在进行" in busy.text
    finally:
        release.set()
    tasks.wait(task.task_id, timeout=60)
    assert "http-equiv" not in office.get(f"/jobs/{task.task_id}").text
    assert office.get("/jobs/0123456789abcdef").status_code == 404


def test_batch_reconciliation_per_scanning_point(office: TestClient, sync: TestClient, scanner: Scanner) -> None:
    feed(sync, scanner, seq=1, complete=False)  # 起诉状 3/3, 证据材料 2 declared, 1 scanned
    intake = scanner.intake()
    item = scanner.item(intake, 2, name="答辩状")
    pages = [scanner.page(item, 1), scanner.page(item, 2), scanner.page(item, 2)]  # one page number twice
    loose, dropped = scanner.page(None, None), scanner.page(None, None)
    dropped.record |= {"role": "discarded", "discard_reason": "空白隔页"}
    upload(sync, scanner, [*pages, loose, dropped])
    assert submit(sync, scanner.sign(scanner.manifest(3, [intake], [item], [*pages, loose, dropped]))).status_code == 201
    login(office, "wang")
    page = office.get("/batches").text
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    first, gap, third = [c for c in cells if c][:3]
    assert first[0] == "1" and first[5] == "5 / 4" and first[6] == "1" and first[7] == "—"  # 漏扫 1 page of 证据材料
    assert gap[0] == "2" and "批次未收到" in gap[1]
    assert third[0] == "3" and third[3] == "5" and third[5] == "2 / 3" and third[7] == "1" and third[9] == "1"
    assert third[11] == "1" and third[12] == "1"  # a page waiting for an item, and one discarded at the point
