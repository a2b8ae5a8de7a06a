"""Custody register in the kiosk: borrow and return with signatures, refusals, overdue, PDF."""

from __future__ import annotations

import base64
import io
import json

import pikepdf
import pytest
from kiosk_kit import CASE, Kiosk, field_error, intake_form, kiosk  # noqa: F401
from PIL import Image, ImageDraw


@pytest.fixture
def case(kiosk: Kiosk) -> Kiosk:
    kiosk.login("C01")
    kiosk.post("/counter/intake/new", intake_form())
    return kiosk


def _items(k: Kiosk) -> list[str]:
    return [r[0] for r in k.db.execute("SELECT id FROM items ORDER BY seq")]


def _drawn() -> str:
    im = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    ImageDraw.Draw(im).line((20, 150, 200, 40, 380, 160, 560, 50), fill=(0, 0, 0, 255), width=6)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _borrow(k: Kiosk, **over: str):
    a, b, _ = _items(k)
    form = {
        "case": CASE,
        "kind": "borrow",
        "from_party": "李文",
        "to_party": "陈法官",
        "purpose": "庭审阅卷",
        "due_back": "2026-03-05T17:00",
        f"item-{a}": "1",
        f"pages-{a}": "5",
        f"item-{b}": "1",
        f"pages-{b}": "24",
        "sig_from-drawn": _drawn(),
        "sig_to-typed": "陈法官",
    }
    form.update(over)
    return k.post("/custody/event", form)


def test_case_page_lists_the_items_of_the_case(case: Kiosk) -> None:
    page = case.client.get("/custody/", query_string={"case": "(2026)京0102民初1234号"}).text
    assert "起诉状" in page and "授权委托书" in page and "新建登记" in page


def test_an_invalid_case_number_is_explained(case: Kiosk) -> None:
    r = case.client.get("/custody/", query_string={"case": "2026京0102"})
    assert r.status_code == 400 and "格式不正确" in field_error(r.text, "case")


def test_borrow_with_a_drawn_and_a_typed_signature(case: Kiosk) -> None:
    r = _borrow(case)
    assert r.status_code == 302
    event = case.db.execute("SELECT kind, from_party, to_party, due_back, from_signature, to_signature FROM custody_events").fetchone()
    assert event[:3] == ("borrow", "李文", "陈法官") and event[3].startswith("2026-03-05T17:00")
    sigs = case.db.execute("SELECT method, sealed FROM signatures ORDER BY rowid").fetchall()
    assert [m for m, _ in sigs] == ["drawn", "typed"]
    assert all(s.startswith(b"JZV1") and b"PNG" not in s and "陈法官".encode() not in s for _, s in sigs)
    assert case.db.execute("SELECT SUM(pages) FROM custody_items").fetchone()[0] == 29
    detail = json.loads(case.audit("custody")[0][3])
    assert detail["kind"] == "borrow" and detail["signatures"] == ["drawn", "typed"]


@pytest.mark.parametrize(
    "over, field, message",
    [
        ({"sig_to-typed": ""}, "sig_to-typed", "请接收方在屏幕上签名，或输入姓名确认"),
        ({"sig_to-typed": "陈某"}, "sig_to-typed", "与登记的“陈法官”不一致"),
        ({"sig_from-drawn": "data:image/png;base64,AAAA"}, "sig_from-typed", "请交出方在屏幕上签名"),
        ({"to_party": ""}, "to_party", "请填写“接收方”"),
        ({"purpose": ""}, "purpose", "请填写“用途”"),
        ({"due_back": "2026-03-01T10:00"}, "due_back", "应晚于现在"),
        ({"due_back": "下周一"}, "due_back", "格式应为"),
    ],
)
def test_borrow_refusals(case: Kiosk, over: dict, field: str, message: str) -> None:
    r = _borrow(case, **over)
    assert r.status_code == 400
    assert message in (field_error(r.text, field) or ""), field_error(r.text, field)
    assert case.db.execute("SELECT COUNT(*) FROM custody_events").fetchone()[0] == 0


def test_a_blank_drawing_is_not_a_signature(case: Kiosk) -> None:
    blank = io.BytesIO()
    Image.new("RGBA", (300, 100), (0, 0, 0, 0)).save(blank, "PNG")
    r = _borrow(case, **{"sig_from-drawn": "data:image/png;base64," + base64.b64encode(blank.getvalue()).decode()})
    assert r.status_code == 400 and "请交出方在屏幕上签名" in r.text


def test_no_items_chosen(case: Kiosk) -> None:
    a, b, _ = _items(case)
    r = _borrow(case, **{f"item-{a}": "", f"item-{b}": ""})
    assert r.status_code == 400 and "请至少选择一项材料" in r.text


def test_return_with_missing_pages_needs_a_note_then_closes_the_loan(case: Kiosk) -> None:
    _borrow(case)
    loan = case.db.execute("SELECT id FROM custody_events").fetchone()[0]
    a, b, _ = _items(case)
    base = {"to_party": "李文", "sig_from-typed": "陈法官", "sig_to-drawn": _drawn(), f"pages-{b}": "23"}
    r = case.post(f"/custody/return/{loan}", {**base, "condition": "pages_missing"})
    assert r.status_code == 400 and "请填写“状况说明”" in field_error(r.text, "note")
    r = case.post(f"/custody/return/{loan}", {**base, "condition": "pages_missing", "note": "证据材料第 17 页缺失"})
    assert r.status_code == 302
    ret = case.db.execute("SELECT kind, loan_id, condition, note FROM custody_events WHERE kind = 'return'").fetchone()
    assert ret == ("return", loan, "pages_missing", "证据材料第 17 页缺失")
    pages = dict(case.db.execute("SELECT item_id, pages FROM custody_items WHERE event_id != ?", [loan]).fetchall())
    assert pages == {a: 5, b: 23}
    again = case.client.get(f"/custody/return/{loan}")
    assert again.status_code == 404 and "找不到未归还的借阅记录" in again.text
    page = case.client.get("/custody/", query_string={"case": CASE}).text
    assert "缺页：证据材料第 17 页缺失" in page


def test_an_overdue_loan_shows_on_the_dashboard(case: Kiosk) -> None:
    _borrow(case)
    assert "借阅逾期" in case.client.get("/dashboard/").text
    assert 'id="overdue"' not in case.client.get("/dashboard/").text
    case.clock.advance(days=3, hours=7, minutes=1)  # past 2026-03-05 17:00
    case.login("C01")
    page = case.client.get("/dashboard/").text
    assert 'id="overdue"' in page and "陈法官" in page


def test_register_pdf_per_case(case: Kiosk) -> None:
    _borrow(case)
    r = case.client.get("/custody/register.pdf", query_string={"case": CASE})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    with pikepdf.open(io.BytesIO(r.data)) as pdf:
        assert len(pdf.pages) == 1
        assert pdf.docinfo["/Title"] == f"诉讼材料提交移交借阅退还清单 {CASE}"
        assert len(pdf.pages[0].get_images()) == 1  # the drawn signature; the typed one is text
    assert case.audit("print")[-1][1] == CASE
