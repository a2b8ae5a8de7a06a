"""The printed cover sheet: A4 at 300 dpi, big Chinese text, and codes that decode to exactly our payload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet, save_cover_sheet
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, luhn_check_char, make_payload

FORMATS = (zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.QRCode)


def fixed_id(kind: Kind, body: str) -> str:
    return kind.value + body + luhn_check_char(kind.value + body)


ITEM = fixed_id(Kind.ITEM, "4K7Q9X2M")
INFO = CoverSheetInfo(
    item_id=ITEM,
    intake_id=fixed_id(Kind.INTAKE, "0H3JW8RA"),
    case_number="（2024）京0102民初1234号",
    item_name="起诉状",
    declared_pages=12,
    volume="main",
    catalog_dir="起诉状、上诉状",
    item_seq=2,
    item_count=5,
)


@pytest.fixture(scope="module")
def sheet() -> Image.Image:
    return render_cover_sheet(INFO)


def ink_rows(img: Image.Image, top: int, bottom: int) -> float:
    """Share of dark pixels in a horizontal strip."""
    return float((np.asarray(img)[top:bottom] < 128).mean())


def test_sheet_is_gray_a4_at_300_dpi(sheet):
    assert sheet.mode == "L"
    assert sheet.size == (2480, 3508)
    assert sheet.info["dpi"] == (300, 300)


def test_every_code_on_the_sheet_is_exactly_our_payload(sheet):
    results = zxingcpp.read_barcodes(sheet, formats=FORMATS)
    assert {r.text for r in results} == {make_payload(ITEM)}
    # a QR and a Code128 in the top band, and the same pair again in the rotated lower band
    assert sorted(r.format.name for r in results) == ["Code128", "Code128", "QRCode", "QRCode"]


def test_qr_is_high_ecc_with_large_modules(sheet):
    qr = next(r for r in zxingcpp.read_barcodes(sheet, formats=FORMATS) if r.format.name == "QRCode")
    assert qr.ec_level in ("H", "Q")
    side = qr.position.top_right.x - qr.position.top_left.x
    assert side / 25 >= 8  # version 2 has 25 modules: ≥ 8 px = 0.68 mm at 300 dpi


def test_code128_has_tall_bars_and_wide_modules(sheet):
    c128 = next(r for r in zxingcpp.read_barcodes(sheet, formats=FORMATS) if r.format.name == "Code128")
    top = c128.position.top_left.y
    row = np.asarray(sheet)[top + 50]
    x0, x1 = c128.position.top_left.x, c128.position.top_right.x
    bars = row[x0 - 5 : x1 + 5] < 128
    edges = np.flatnonzero(np.diff(bars.astype(int)))
    assert np.diff(edges).min() >= 4  # narrowest bar or space ≥ 4 px
    column = np.asarray(sheet)[:, x0 + 2] < 128  # the start character's first bar, top to bottom
    height = int(column[top : top + 1200].sum())
    assert height >= 0.25 * (x1 - x0)


def test_upside_down_sheet_shows_the_same_code_band(sheet):
    flipped = sheet.rotate(180)
    band = (300, 420, 2180, 980)
    assert np.array_equal(np.asarray(sheet.crop(band)), np.asarray(flipped.crop(band)))


def test_chinese_text_is_drawn_where_people_read_it(sheet):
    assert ink_rows(sheet, 170, 340) > 0.05  # 卷宗材料分隔页 in 150 px type
    assert ink_rows(sheet, 1050, 2000) > 0.03  # the fields
    changed = render_cover_sheet(CoverSheetInfo(**{**INFO.__dict__, "item_name": "证据材料（银行流水）"}))
    diff = np.asarray(changed) != np.asarray(sheet)
    rows = np.flatnonzero(diff.any(axis=1))
    assert rows.size and rows.min() > 1050 and rows.max() < 2400  # only the field block changed


def test_long_item_name_wraps_and_the_lower_codes_still_read():
    info = CoverSheetInfo(**{**INFO.__dict__, "item_name": "原告提交的证据材料（合同、转账记录、聊天记录截图、银行流水）" * 3})
    results = zxingcpp.read_barcodes(render_cover_sheet(info), formats=FORMATS)
    assert len(results) == 4


def test_bad_item_id_is_refused():
    with pytest.raises(AppError) as err:
        render_cover_sheet(CoverSheetInfo(**{**INFO.__dict__, "item_id": ITEM[:-1] + "0"}))
    assert err.value.code is ErrorCode.ID_INVALID


@pytest.mark.parametrize("name", ["sheet.png", "sheet.jpg"])
def test_saved_file_carries_300_dpi_and_decodes(tmp_path: Path, name: str):
    out = save_cover_sheet(INFO, tmp_path / name)
    with Image.open(out) as img:
        assert img.size == (2480, 3508)
        assert tuple(round(v) for v in img.info["dpi"]) == (300, 300)
        texts = {r.text for r in zxingcpp.read_barcodes(img, formats=FORMATS)}
    assert texts == {make_payload(ITEM)}


def test_unknown_suffix_is_refused(tmp_path: Path):
    with pytest.raises(ValueError):
        save_cover_sheet(INFO, tmp_path / "sheet.gif")
