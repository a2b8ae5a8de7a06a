"""Kiosk printing: receipts decoded back from the ESC/POS bytes, printer-off queue and retry,
补打 from the encrypted copy, thermal labels, A4 cover sheets."""

from __future__ import annotations

import io
import shutil

import pikepdf
import pytest
import zxingcpp
from kiosk_kit import CASE, Kiosk, intake_form, intake_id_of, kiosk  # noqa: F401
from PIL import Image, ImageChops
from test_printer import raster_blocks

from juanzong.edge.devices import printer as prn
from juanzong.edge.devices.printer import TextLine
from juanzong.edge.devices.profiles import get_printer
from juanzong.shared.ids import make_payload


@pytest.fixture
def intake(kiosk: Kiosk) -> str:
    kiosk.login("C01")
    return intake_id_of(kiosk.post("/counter/intake/new", intake_form()))


def _output(k: Kiosk):
    return k.settings.home / "printer" / "receipts.escpos"


def _printed_since(k: Kiosk, offset: int) -> bytes:
    return _output(k).read_bytes()[offset:]


def _size(k: Kiosk) -> int:
    return _output(k).stat().st_size if _output(k).is_file() else 0


def _qr(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def _text_block(data: bytes) -> Image.Image:
    return raster_blocks(data)[0]


def _expected(lines, width=576, font_px=24) -> Image.Image:
    return prn.raster_text(lines, width, font_px).convert("L")


def test_receipt_bytes_decode_to_the_receipt_and_its_qr(kiosk: Kiosk, intake: str) -> None:
    before = _size(kiosk)
    r = kiosk.post(f"/counter/intake/{intake}/receipt")
    assert r.status_code == 302
    data = _printed_since(kiosk, before)
    blocks = raster_blocks(data)
    p = get_printer("file-printer")
    assert all(b.width <= p.width_dots for b in blocks)
    assert _qr(blocks[-1]) == [make_payload(intake)]  # the QR read back from the printed raster
    assert f"JZ1-{intake}".encode() in data  # and the same number as Code128 text
    receipt = kiosk.app.extensions["juanzong"]  # noqa: F841 - the app is the one that printed
    from juanzong.edge.printing import receipt_for

    lines = prn.receipt_text(receipt_for(kiosk.db, kiosk.settings, intake))
    words = [ln.text for ln in lines]
    for expected in (
        "北京市西城区人民法院",
        f"案号：{CASE}",
        "2. 证据材料",
        "份数 2　页数 12　复印件",
        "收件时间：2026-03-02 10:00",
        "办理时限：2026-03-02 18:00",
        "经办人：李文",
        "提交人签名：",
    ):
        assert any(expected in w for w in words), expected
    assert ImageChops.difference(_text_block(data), _expected(lines)).getbbox() is None
    page = kiosk.client.get(f"/counter/intake/{intake}").text
    assert "已打印" in page and "收取回执" in page


def test_printer_off_queues_then_retry_prints_and_reprint_is_marked(kiosk: Kiosk, intake: str) -> None:
    out = _output(kiosk)
    if out.exists():
        out.unlink()
    out.mkdir(parents=True)  # the "printer" cannot be written: off
    r = kiosk.post(f"/counter/intake/{intake}/receipt")
    page = kiosk.client.get(r.location).text
    assert "未连接，打印任务已排队" in page and "排队中" in page
    job = kiosk.db.execute("SELECT id, state, attempts, last_error FROM print_jobs").fetchone()
    assert job[1:3] == ("queued", 1) and job[3]
    assert "待打印 1 项" in kiosk.client.get("/dashboard/").text
    kiosk.post("/counter/print/retry", {"back": f"/counter/intake/{intake}"})
    assert kiosk.db.execute("SELECT state, attempts FROM print_jobs").fetchone() == ("queued", 2)
    shutil.rmtree(out)  # printer back
    r = kiosk.post("/counter/print/retry", {"back": f"/counter/intake/{intake}"})
    assert r.location.endswith(f"/counter/intake/{intake}")
    assert kiosk.db.execute("SELECT state, attempts FROM print_jobs").fetchone() == ("printed", 3)
    first = out.read_bytes()
    kiosk.post(f"/counter/print/{job[0]}/reprint", {"back": f"/counter/intake/{intake}"})
    again = _printed_since(kiosk, len(first))
    from juanzong.edge.printing import receipt_for

    lines = (TextLine("补打", "title"),) + prn.receipt_text(receipt_for(kiosk.db, kiosk.settings, intake))
    assert ImageChops.difference(_text_block(again), _expected(lines)).getbbox() is None
    assert _qr(raster_blocks(again)[-1]) == [make_payload(intake)]
    assert kiosk.db.execute("SELECT COUNT(*) FROM print_jobs WHERE reprint = 1 AND state = 'printed'").fetchone()[0] == 1
    assert "（补打）" in kiosk.client.get(f"/counter/intake/{intake}").text
    actions = [a for (a,) in kiosk.db.execute("SELECT action FROM audit WHERE action LIKE 'print%' ORDER BY seq")]
    assert actions == ["print_queue", "print", "print_queue", "print"]


def test_every_receipt_copy_is_encrypted(kiosk: Kiosk, intake: str) -> None:
    kiosk.post(f"/counter/intake/{intake}/receipt")
    copy = kiosk.db.execute("SELECT copy FROM print_jobs").fetchone()[0]
    assert copy.startswith(b"JZV1") and CASE.encode() not in copy and "张三".encode() not in copy


def test_labels_one_per_item_with_the_item_qr(kiosk: Kiosk, intake: str) -> None:
    before = _size(kiosk)
    kiosk.post(f"/counter/intake/{intake}/labels")
    data = _printed_since(kiosk, before)
    items = [r[0] for r in kiosk.db.execute("SELECT id FROM items ORDER BY seq")]
    qrs = [_qr(b) for b in raster_blocks(data)]
    assert [q[0] for q in qrs if q] == [make_payload(i) for i in items]


def test_cover_sheets_pdf_a4_one_page_per_item_readable(kiosk: Kiosk, intake: str) -> None:
    r = kiosk.client.get(f"/counter/intake/{intake}/covers.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    items = [r[0] for r in kiosk.db.execute("SELECT id FROM items ORDER BY seq")]
    with pikepdf.open(io.BytesIO(r.data)) as pdf:
        assert len(pdf.pages) == 3
        for page, item in zip(pdf.pages, items):
            w, h = (float(v) for v in page.mediabox[2:])
            assert abs(w - 595.3) < 1 and abs(h - 841.9) < 1  # A4 in points
            image = pikepdf.PdfImage(next(iter(page.get_images().values()))).as_pil_image()
            assert make_payload(item) in _qr(image)
    assert kiosk.audit("print")[-1][1] == intake
