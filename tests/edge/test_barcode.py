"""The barcode stage separates items: cover sheets read as ours, every foreign code never does."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet
from juanzong.edge.ingest.barcode import read_codes
from juanzong.edge.tooling import pages
from juanzong.shared.ids import Kind, luhn_check_char, make_payload

BACKENDS = ("zxing", "pyzbar")
COVER_DEGRADATIONS = ("rot3", "rot7", "rot90", "rot180", "lowcontrast", "saltpepper", "jpeg30", "worn", "skew2")


def fixed_id(kind: Kind, body: str) -> str:
    return kind.value + body + luhn_check_char(kind.value + body)


ITEM = fixed_id(Kind.ITEM, "4K7Q9X2M")
OTHER_ITEM = fixed_id(Kind.ITEM, "7RT0DZ5N")


def jpeg(img: Image.Image, quality: int = 85) -> bytes:
    return pages.jpeg_bytes(img, quality=quality)


def half_of(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.draft("L", (img.width // 2, img.height // 2))
    return img.convert("L")


@pytest.fixture(scope="module")
def cover() -> Image.Image:
    return render_cover_sheet(
        CoverSheetInfo(
            item_id=ITEM,
            intake_id=fixed_id(Kind.INTAKE, "0H3JW8RA"),
            case_number="（2024）京0102民初1234号",
            item_name="证据材料",
            declared_pages=20,
        )
    )


@pytest.fixture(scope="module")
def degraded_covers(cover) -> dict[str, bytes]:
    """Each degraded cover sheet scanned to JPEG q85 once, shared by both backends."""
    return {kind: jpeg(pages.degrade(cover, kind, seed=1)) for kind in COVER_DEGRADATIONS}


# ---- cover sheets read as ours


@pytest.mark.parametrize("backend", BACKENDS)
def test_clean_cover_sheet_reads_as_ours_from_the_half_size_image(cover, backend: str):
    scan = read_codes(jpeg(cover), backend=backend)
    assert scan.cover_item == ITEM
    assert scan.stages == ("half",)
    assert {c.format for c in scan.codes} <= {"QRCode", "Code128"}
    assert all(c.text == make_payload(ITEM) and c.is_cover_sheet for c in scan.codes)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", COVER_DEGRADATIONS)
def test_degraded_cover_sheet_still_reads_as_ours(degraded_covers, kind: str, backend: str):
    scan = read_codes(degraded_covers[kind], backend=backend)
    assert scan.cover_item == ITEM, f"{backend} lost the cover sheet under {kind}: {scan}"


def test_cover_sheet_from_a_file_path(tmp_path, cover):
    path = pages.save_jpeg(cover, tmp_path / "scan_0001.jpg")
    assert read_codes(path).cover_item == ITEM


def test_half_image_from_decode_is_used_and_the_file_not_decoded_again(cover):
    data = jpeg(cover)
    # the source bytes are garbage: only the supplied half image can produce the code
    scan = read_codes(b"not a jpeg at all", half=half_of(data))
    assert scan.cover_item == ITEM and scan.error == ""


# ---- foreign codes never count as ours


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("page", ["waybill", "invoice"])
def test_evidence_pages_with_foreign_codes_are_not_cover_sheets(page: str, backend: str):
    img = pages.waybill_page(5) if page == "waybill" else pages.invoice_page(5)
    scan = read_codes(jpeg(img), backend=backend)
    assert scan.codes, "the foreign code itself must be read (proves the page was looked at)"
    assert all(code.ours is None and not code.is_cover_sheet for code in scan.codes)
    assert scan.cover_item is None


NEAR_MISSES = {
    "wrong check": (make_payload(ITEM)[:-1] + ("0" if ITEM[-1] != "0" else "1"), "QRCode"),
    "id without prefix": (ITEM, "QRCode"),
    "wrong version": ("JZ2-" + ITEM, "Code128"),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", NEAR_MISSES)
def test_near_misses_of_our_payload_are_foreign(case: str, backend: str):
    text, fmt = NEAR_MISSES[case]
    scan = read_codes(jpeg(pages.barcode_page(2, [(text, fmt)])), backend=backend)
    assert [c.text for c in scan.codes] == [text]  # read exactly …
    assert scan.codes[0].ours is None and scan.cover_item is None  # … and refused


def test_a_jz_near_miss_makes_the_reader_look_harder():
    text, fmt = NEAR_MISSES["wrong check"]
    scan = read_codes(jpeg(pages.barcode_page(2, [(text, fmt)])))
    assert scan.stages == ("half", "full", "median")


def test_other_symbologies_are_not_even_read():
    # zxing-cpp reads bogus EAN-13s out of halftones when all formats are on: we never ask for them
    ean = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode("6901234567892", zxingcpp.BarcodeFormat.EAN13), scale=8)
    page = pages.text_page(1, colour=False)
    page.paste(Image.fromarray(np.array(ean)), (400, 1200))
    assert read_codes(jpeg(page), thorough=True).codes == ()


def test_two_different_cover_ids_on_one_page_are_ambiguous():
    codes = [(make_payload(ITEM), "QRCode"), (make_payload(OTHER_ITEM), "QRCode")]
    scan = read_codes(jpeg(pages.barcode_page(3, codes)))
    assert {c.ours.ident for c in scan.codes if c.ours} == {ITEM, OTHER_ITEM}
    assert scan.cover_item is None


def test_the_same_id_in_both_symbologies_is_one_item():
    codes = [(make_payload(ITEM), "QRCode"), (make_payload(ITEM), "Code128")]
    assert read_codes(jpeg(pages.barcode_page(3, codes))).cover_item == ITEM


# ---- the budget: plain pages stop after the half-size look


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("page", ["text", "photo", "blank"])
def test_pages_without_codes_cost_one_half_size_look(page: str, backend: str):
    make = {"text": pages.text_page, "photo": pages.photo_page, "blank": pages.blank_backside}[page]
    scan = read_codes(jpeg(make(4)), backend=backend)
    assert scan.codes == ()
    assert scan.stages == ("half",)


def test_thorough_looks_at_every_stage_of_a_plain_page():
    scan = read_codes(jpeg(pages.text_page(4)), thorough=True)
    assert scan.codes == () and scan.stages == ("half", "full", "median")


def test_a_cleanly_read_foreign_code_costs_the_full_page_but_not_the_median_filter():
    scan = read_codes(jpeg(pages.waybill_page(5)))
    assert scan.stages == ("half", "full")


# ---- the cascade finds small damaged codes of ours


def _small_noisy(fmt: str, module_px: int, seed: int) -> bytes:
    page = pages.barcode_page(seed, [(make_payload(ITEM), fmt)], module_px=module_px)
    return jpeg(pages.degrade(page, "saltpepper", seed))


def test_broken_symbol_at_half_size_escalates_to_the_full_page():
    # a 3 px QR under salt-and-pepper fails at 1/2 scale, but zxing reports the broken symbol
    scan = read_codes(_small_noisy("QRCode", 3, seed=1))
    assert scan.stages == ("half", "full") and scan.cover_item == ITEM


def test_median_filter_rescues_salt_and_pepper():
    scan = read_codes(_small_noisy("QRCode", 3, seed=2))
    assert scan.stages == ("half", "full", "median") and scan.cover_item == ITEM


def test_thorough_finds_what_the_budget_skipped():
    # documented limit: a 3 px Code128 under salt-and-pepper leaves no trace at 1/2 scale for zxing,
    # so ingest's budgeted look misses it; our cover sheets use 6 px modules for this reason
    data = _small_noisy("Code128", 6, seed=0)
    assert read_codes(data).cover_item is None
    scan = read_codes(data, thorough=True)
    assert scan.stages == ("half", "full", "median") and scan.cover_item == ITEM


# ---- a bad page never stops ingest


def test_undecodable_file_returns_an_empty_scan_with_the_error(caplog):
    with caplog.at_level(logging.WARNING, logger="juanzong.edge.ingest.barcode"):
        scan = read_codes(jpeg(pages.text_page(1))[:5000])
    assert scan.codes == () and scan.error
    assert "barcode reading failed" in caplog.text


def test_failure_after_a_foreign_code_keeps_what_was_found():
    data = jpeg(pages.waybill_page(5))
    scan = read_codes(b"\xff\xd8\xff broken", half=half_of(data))
    assert scan.stages == ("half", "full")
    assert len(scan.codes) == 2 and scan.error


def test_unknown_backend_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown barcode backend"):
        read_codes(b"", backend="zbarcam")
