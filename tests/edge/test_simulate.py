"""Synthetic pages and the simulated scanner: what the demo, the tests and the benchmark feed ingest."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from juanzong.edge.tooling.pages import (
    DEGRADATIONS,
    H,
    W,
    blank_backside,
    degrade,
    invoice_page,
    photo_page,
    save_jpeg,
    text_page,
    waybill_page,
)
from juanzong.edge.tooling.scanner import ScanJob, SimulatedScanner
from juanzong.shared.ids import parse_payload

FORMATS = (zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.QRCode)
GENERATORS = {
    "text": text_page,
    "text_gray": lambda seed: text_page(seed, colour=False),
    "photo": photo_page,
    "waybill": waybill_page,
    "invoice": invoice_page,
    "blank": blank_backside,
}


@pytest.mark.parametrize("kind", GENERATORS)
def test_pages_are_a4_at_300_dpi_and_a_function_of_the_seed(kind: str):
    make = GENERATORS[kind]
    page = make(7)
    assert page.size == (2480, 3508)
    assert page.info["dpi"] == (300, 300)
    assert page.tobytes() == make(7).tobytes()
    assert page.tobytes() != make(8).tobytes()


def test_colour_text_page_has_a_red_seal_and_gray_mode_has_none():
    colour = np.asarray(text_page(3)).astype(int)
    red = (colour[..., 0] > 150) & (colour[..., 1] < 110) & (colour[..., 2] < 110)
    assert red.sum() > 5000
    gray = text_page(3, colour=False)
    assert gray.mode == "L"
    assert (np.asarray(gray) < 100).mean() > 0.01  # ~30 lines of dark text


def test_text_page_uses_the_given_title():
    plain, titled = np.asarray(text_page(5, colour=False)), np.asarray(text_page(5, colour=False, title="民事上诉状"))
    rows = np.flatnonzero((plain != titled).any(axis=1))
    assert rows.size and rows.max() < 400  # only the title line differs


def test_waybill_page_carries_a_decodable_foreign_waybill_number_and_url():
    results = zxingcpp.read_barcodes(waybill_page(11), formats=FORMATS)
    by_format = {r.format.name: r.text for r in results}
    assert re.fullmatch(r"(SF|YT|JD|ZT)\d{13}", by_format["Code128"])
    assert by_format["QRCode"].startswith("https://") and by_format["QRCode"].endswith(by_format["Code128"])
    assert all(parse_payload(r.text) is None for r in results)


def test_invoice_page_carries_the_invoice_data_qr():
    results = zxingcpp.read_barcodes(invoice_page(4), formats=FORMATS)
    assert [r.format.name for r in results] == ["QRCode"]
    assert results[0].text.startswith("01,32,,")


def test_blank_backside_is_near_white_with_faint_bleed_through():
    bled, clean = np.asarray(blank_backside(2).convert("L")), np.asarray(blank_backside(2, bleed=False).convert("L"))
    assert bled.mean() > 225 and (bled < 128).mean() < 0.0005
    assert bled.mean() < clean.mean()  # the mirrored text shows through a little


def test_photo_page_is_colourful():
    rgb = np.asarray(photo_page(1)).astype(int)
    saturation = rgb.max(axis=2) - rgb.min(axis=2)
    assert (saturation > 60).mean() > 0.2


@pytest.fixture(scope="module")
def small_page() -> Image.Image:
    # degradations are geometry/tone operations: a gray text page exercises them all
    return text_page(1, colour=False)


@pytest.mark.parametrize("kind", DEGRADATIONS)
def test_degradations_keep_the_page_and_are_deterministic(small_page, kind: str):
    out = degrade(small_page, kind, seed=3)
    expected = (3508, 2480) if kind == "rot90" else (2480, 3508)
    assert out.size == expected and out.mode == small_page.mode
    assert out.tobytes() != small_page.tobytes()
    assert out.tobytes() == degrade(small_page, kind, seed=3).tobytes()


def test_degrade_rejects_unknown_kinds(small_page):
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(small_page, "rot45")


def test_lowcontrast_squeezes_tones(small_page):
    tones = np.asarray(degrade(small_page, "lowcontrast", 1))
    assert np.percentile(tones, 0.1) >= 105 and np.percentile(tones, 99.9) <= 185


def test_save_jpeg_writes_jfif_with_dpi(tmp_path: Path):
    path = save_jpeg(text_page(1), tmp_path / "p.jpg", quality=85)
    with Image.open(path) as img:
        assert img.format == "JPEG" and "jfif" in img.info
        assert img.info["dpi"] == (300, 300)


def test_scanner_numbers_files_like_a_real_one_and_leaves_no_temp_files(tmp_path: Path):
    hot = tmp_path / "hot"
    (hot).mkdir()
    (hot / "scan_0002.jpg").write_bytes(b"from an earlier session")
    scanner = SimulatedScanner(hot)
    pages = [blank_backside(1, bleed=False), blank_backside(2, bleed=False)]
    paths = scanner.feed(ScanJob(pages=tuple(pages)))
    assert [p.name for p in paths] == ["scan_0001.jpg", "scan_0003.jpg"]  # never overwrites
    assert sorted(p.name for p in hot.iterdir()) == ["scan_0001.jpg", "scan_0002.jpg", "scan_0003.jpg"]
    for path in paths:
        data = path.read_bytes()
        assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"  # complete JPEG, SOI … EOI


def test_scanner_prefix_and_start(tmp_path: Path):
    scanner = SimulatedScanner(tmp_path, prefix="IMG", start=41)
    assert [p.name for p in scanner.write_many([blank_backside(1, bleed=False)] * 2)] == ["IMG0041.jpg", "IMG0042.jpg"]


def test_slow_write_grows_the_file_in_visible_steps(tmp_path: Path):
    scanner = SimulatedScanner(tmp_path, chunk_bytes=64 * 1024, chunk_delay=0.03)
    page = text_page(2)
    target = tmp_path / "scan_0001.jpg"
    sizes: list[int] = []
    writer = threading.Thread(target=scanner.write, args=(page,), kwargs={"slow": True})
    writer.start()
    while writer.is_alive():
        if target.exists():
            sizes.append(target.stat().st_size)
        time.sleep(0.01)
    writer.join()
    final = target.stat().st_size
    assert len({s for s in sizes if s < final}) >= 2  # a watcher sees a partial file, more than once
    assert target.read_bytes()[-2:] == b"\xff\xd9"


def test_module_exposes_every_documented_degradation():
    assert set(DEGRADATIONS) == {"rot1", "rot3", "rot7", "rot90", "rot180", "lowcontrast", "saltpepper", "blur1", "jpeg30", "worn", "skew2"}
    assert (W, H) == (2480, 3508)
