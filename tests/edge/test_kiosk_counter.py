"""收取登记 in the kiosk: every form error path, 待立案 and linking, personal data, deadline."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from kiosk_kit import CASE, TZ, Kiosk, field_error, intake_form, intake_id_of, kiosk  # noqa: F401


@pytest.fixture
def clerk(kiosk: Kiosk) -> Kiosk:
    kiosk.login("C01")
    return kiosk


def _post(k: Kiosk, **values: str):
    return k.post("/counter/intake/new", intake_form(**values))


def test_new_form_starts_with_three_empty_rows_and_labels(clerk: Kiosk) -> None:
    page = clerk.client.get("/counter/intake/new").text
    for i in range(3):
        assert f'<label for="items-{i}-name"' in page and f'id="items-{i}-name" name="items-{i}-name" value=""' in page
    assert 'id="items-3-name"' not in page
    for label in ("案号", "提交人姓名", "证件号码", "联系电话", "加急理由", "备注"):
        assert label in page


def test_add_row_rerenders_with_one_more_row_keeping_what_was_typed(clerk: Kiosk) -> None:
    r = _post(clerk, action="add_row")
    assert r.status_code == 200
    assert 'id="items-3-name"' in r.text and 'value="证据材料"' in r.text and 'name="rows" value="4"' in r.text
    assert clerk.db.execute("SELECT COUNT(*) FROM intakes").fetchone()[0] == 0


def test_check_shows_the_normalised_case_number(clerk: Kiosk) -> None:
    r = _post(clerk, case="(2026)京0102民初1234号", action="check")
    assert "案号有效：（2026）京0102民初1234号（民事一审）" in r.text or "案号有效：（2026）京0102民初1234号" in r.text


def test_a_handover_with_three_items_is_registered(clerk: Kiosk) -> None:
    r = _post(clerk)
    assert r.status_code == 302
    page = clerk.client.get(r.location).text
    assert "办理时限：2026-03-02 18:00" in page and CASE in page
    items = clerk.db.execute("SELECT name, declared_pages, copies, original, catalog_dir FROM items ORDER BY seq").fetchall()
    assert [(n, p, c, o) for n, p, c, o, _ in items] == [("起诉状", 5, 1, 1), ("证据材料", 12, 2, 0), ("授权委托书", 1, 1, 1)]
    assert all(d for *_, d in items)  # catalogued
    assert clerk.audit("intake")[0][0] == "C01"


@pytest.mark.parametrize(
    "values, field, message",
    [
        ({"case": ""}, "case", "请填写“案号”"),
        ({"case": "2026京0102民初1234"}, "case", "格式不正确"),
        ({"case": "（2026）京0102民民民1234号"}, "case", "类型代字"),
        ({"submitter": ""}, "submitter", "请填写“提交人姓名”"),
        ({"submitter_role": "judge"}, "submitter_role", "请从列表中选择"),
        ({"id_number": "11010119900101123$"}, "id_number", "只能包含数字和字母 X"),
        ({"phone": "138-abc"}, "phone", "只能包含数字"),
        ({"urgent": "1"}, "urgent_reason", "请填写“加急理由”"),
        ({"items-0-pages": "0"}, "items-0-pages", "应为 1 至 5000 的整数"),
        ({"items-0-pages": "5001"}, "items-0-pages", "应为 1 至 5000 的整数"),
        ({"items-1-pages": "十二"}, "items-1-pages", "应为 1 至 5000 的整数"),
        ({"items-1-pages": ""}, "items-1-pages", "请填写“第 2 行页数”"),
        ({"items-2-name": ""}, "items-2-name", "请填写“第 3 行材料名称”"),
        ({"items-1-copies": "0"}, "items-1-copies", "应为 1 至 100 的整数"),
        ({"items-0-volume": "secret"}, "items-0-volume", "请从列表中选择"),
        (
            {"items-0-name": "", "items-0-pages": "", "items-1-name": "", "items-1-pages": "", "items-2-name": "", "items-2-pages": ""},
            "items-0-name",
            "材料（至少一项）",
        ),
    ],
)
def test_every_field_error_is_shown_at_its_field(clerk: Kiosk, values: dict, field: str, message: str) -> None:
    r = _post(clerk, **values)
    assert r.status_code == 400
    shown = field_error(r.text, field)
    assert shown is not None and message in shown, (field, shown)
    assert 'aria-invalid="true"' in r.text
    assert clerk.db.execute("SELECT COUNT(*) FROM intakes").fetchone()[0] == 0


def test_all_errors_at_once(clerk: Kiosk) -> None:
    r = _post(clerk, case="", submitter="", **{"items-0-pages": "0"})
    assert "有 3 处需要更正" in r.text


def test_a_directory_from_the_other_volume_is_refused(clerk: Kiosk) -> None:
    r = _post(clerk, **{"items-0-catalog": "合议庭评议笔录、汇报笔录", "items-0-volume": "main"})
    assert r.status_code == 400 and "卷宗目录中没有“合议庭评议笔录、汇报笔录”这一项" in r.text


def test_the_clerk_corrects_directory_and_volume(clerk: Kiosk) -> None:
    r = _post(clerk, **{"items-1-catalog": "合议庭评议笔录、汇报笔录", "items-1-volume": "internal"})
    assert r.status_code == 302
    row = clerk.db.execute("SELECT volume, catalog_dir FROM items WHERE seq = 2").fetchone()
    assert row == ("internal", "合议庭评议笔录、汇报笔录")


def test_classified_material_is_refused_quoting_the_rule_and_audited(clerk: Kiosk) -> None:
    r = _post(clerk, classified="1")
    assert r.status_code == 400
    assert "涉密案件材料不得扫描入本系统" in field_error(r.text, "classified")
    assert clerk.db.execute("SELECT COUNT(*) FROM intakes").fetchone()[0] == 0
    assert [(a, o) for a, _, o, _ in clerk.audit("intake")] == [("C01", "refused")]


def test_urgent_with_reason_and_note(clerk: Kiosk) -> None:
    r = _post(clerk, urgent="1", urgent_reason="明日开庭", note="当事人行动不便")
    page = clerk.client.get(r.location).text
    assert "办理时限：2026-03-02 12:00（加急）" in page and "明日开庭" in page and "当事人行动不便" in page


def test_personal_data_is_encrypted_and_shown_masked(clerk: Kiosk) -> None:
    r = _post(clerk, id_number="110101199001011234", phone="13812345678")
    page = clerk.client.get(r.location).text
    assert "110101********1234" in page and "138****5678" in page
    assert "110101199001011234" not in page and "13812345678" not in page
    raw = clerk.db.execute("SELECT id_number, phone FROM intake_details").fetchone()
    assert raw[0].startswith(b"JZV1") and b"110101199001011234" not in raw[0] and b"13812345678" not in raw[1]
    disk = clerk.settings.db_path.read_bytes() + clerk.settings.db_path.with_name("edge.db-wal").read_bytes()
    assert b"110101199001011234" not in disk and b"13812345678" not in disk


def test_pending_case_gets_a_temporary_number_then_is_linked(clerk: Kiosk) -> None:
    r = _post(clerk, case="", pending="1")
    assert r.status_code == 302
    intake_id = intake_id_of(r)
    page = clerk.client.get(r.location).text
    assert "待立案T-" in page and "关联正式案号" in page
    assert clerk.db.execute("SELECT COUNT(*) FROM items WHERE catalog_dir = ''").fetchone()[0] == 3
    bad = clerk.post(f"/counter/intake/{intake_id}/link", {"case": "（2026）京0102民初"})
    assert bad.status_code == 400 and "格式不正确" in field_error(bad.text, "case")
    ok = clerk.post(f"/counter/intake/{intake_id}/link", {"case": "(2026)京0102民初77号"})
    assert ok.status_code == 302
    row = clerk.db.execute("SELECT case_number, case_json, batch_id FROM intakes").fetchone()
    assert row[0] == "（2026）京0102民初77号" and json.loads(row[1])["temporary"].startswith("待立案") and row[2] is None
    assert clerk.db.execute("SELECT COUNT(*) FROM items WHERE catalog_dir = ''").fetchone()[0] == 0
    assert json.loads(clerk.audit("case_link")[0][3])["case_number"] == "（2026）京0102民初77号"
    again = clerk.post(f"/counter/intake/{intake_id}/link", {"case": "(2026)京0102民初78号"})
    assert again.status_code == 400 and "已关联案号" in again.text


def test_provisional_deadline_is_marked(kiosk: Kiosk) -> None:
    kiosk.clock.now = datetime(2026, 12, 31, 13, 0, tzinfo=TZ)
    kiosk.login("C01")
    r = _post(kiosk)
    page = kiosk.client.get(r.location).text
    assert "办理时限：2027-01-04 12:00（暂定）" in page
    dashboard = kiosk.client.get("/dashboard/").text
    assert "2027 年放假安排尚未导入" in dashboard


def test_an_unknown_intake_is_a_chinese_404(clerk: Kiosk) -> None:
    r = clerk.client.get("/counter/intake/T00000000")
    assert r.status_code == 400 and "编号“T00000000”无效" in r.text and "Traceback" not in r.text


def test_todays_intakes_list(clerk: Kiosk) -> None:
    _post(clerk)
    clerk.clock.advance(days=1)
    clerk.login("C01")
    _post(clerk, case="（2026）京0102民初99号")
    page = clerk.client.get("/counter/intakes").text
    assert "今日收件（1 件）" in page and "民初99号" in page and "民初1234号" not in page
