"""Assembly, stamp and text layer on real generated pages, read back with real tools
(img2pdf/pikepdf to build; poppler's pdftotext/pdftoppm, pypdf, pdfminer.six and
zxing-cpp to read). OCR itself is exercised once, in test_ocr.py."""

from __future__ import annotations

import io
import re
import subprocess
from functools import lru_cache

import pikepdf
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from juanzong.edge.documents.assemble import CatalogPlace, DocumentMeta, SourcePage, assemble
from juanzong.edge.documents.quality import char_accuracy, spaces_between_cjk
from juanzong.edge.documents.textlayer import PageText, TextLine
from juanzong.edge.tooling.pages import court_page, jpeg_bytes
from juanzong.shared.ids import Kind, make_page_stamp, new_id, parse_page_stamp, parse_payload

CASE = "（2026）京0102民初1234号"
MM_PT = 72 / 25.4


@lru_cache(maxsize=4)
def known(seed: int):
    return court_page(seed)


def meta(item_id: str) -> DocumentMeta:
    return DocumentMeta(item_id, CASE, "民事起诉状", CatalogPlace("main", "起诉状", 3, 1))


def text_of(page) -> PageText:
    """What a perfect OCR would report: the printed lines and their ink boxes."""
    return PageText(page.image.width, page.image.height, tuple(TextLine(ln.text, *ln.box) for ln in page.lines))


def embedded_images(pdf_bytes: bytes) -> list[pikepdf.Stream]:
    pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    _KEEP.append(pdf)  # the streams read from it need the Pdf alive
    return [next(iter(page.get_images().values())) for page in pdf.pages]


_KEEP: list = []


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=(300, 300))
    return buf.getvalue()


def tiff_g4_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("L").point(lambda v: 255 if v > 160 else 0).convert("1").save(buf, "TIFF", compression="group4", dpi=(300, 300))
    return buf.getvalue()


def test_page_stamp_payload_carries_item_page_and_check():
    item = new_id(Kind.ITEM)
    payload = make_page_stamp(item, 7)
    assert parse_page_stamp(payload).item_id == item and parse_page_stamp(payload).page_no == 7
    assert parse_payload(payload) is None  # a stamped page fed back is never a cover sheet
    wrong_page = payload[:-2] + ("8" if payload[-2] != "8" else "9") + payload[-1]
    assert parse_page_stamp(wrong_page) is None
    assert parse_page_stamp("JZ1-" + item) is None and parse_page_stamp("SF1234567890") is None


def test_jpeg_master_is_embedded_byte_for_byte_and_rotation_is_metadata():
    master = jpeg_bytes(known(1).image)
    doc = assemble([SourcePage("P1", 1, master), SourcePage("P2", 2, master, "verso", rotation=90)], meta(new_id(Kind.ITEM)))
    pdf = pikepdf.open(io.BytesIO(doc.pdf))
    for image in embedded_images(doc.pdf):
        assert image.Filter == pikepdf.Name.DCTDecode and image.read_raw_bytes() == master
    assert pdf.pages[1].obj.Rotate == 90 and "/Rotate" not in pdf.pages[0].obj
    assert float(pdf.pages[0].mediabox[2]) == pytest.approx(2480 * 72 / 300, abs=0.01)


@pytest.mark.parametrize("fmt", ["png", "tiff-g4"])
def test_other_masters_are_embedded_losslessly(fmt):
    img = known(2).image.convert("L")
    master = png_bytes(img) if fmt == "png" else tiff_g4_bytes(img)
    doc = assemble([SourcePage("P1", 1, master)], meta(new_id(Kind.ITEM)))
    (image,) = embedded_images(doc.pdf)
    embedded = pikepdf.PdfImage(image).as_pil_image()
    original = Image.open(io.BytesIO(master))
    assert embedded.size == original.size
    assert embedded.convert("L").tobytes() == original.convert("L").tobytes()


def _rasterise(pdf: bytes, tmp_path, page: int, dpi: int = 300) -> Image.Image:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = tmp_path / f"r{page}"
    # PGM, not PNG: poppler's PNG encoder takes ~15 s CPU on a noisy 300 dpi page
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", "-gray", str(path), str(out)], check=True)
    return Image.open(f"{out}.pgm")


def _stamp_reads(img: Image.Image):
    found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    ours = [(parse_page_stamp(r.text), r.position) for r in found if parse_page_stamp(r.text)]
    assert len(ours) == 1, [r.text for r in found]
    return ours[0]


def test_stamp_decodes_to_item_and_page_recto_right_verso_left(tmp_path):
    item = new_id(Kind.ITEM)
    pages = [SourcePage(f"P{n}", n, jpeg_bytes(known(n).image), "recto" if n % 2 else "verso") for n in (1, 2)]
    doc = assemble(pages, meta(item))
    assert doc.stamped_over_content == ()
    for n in (1, 2):
        img = _rasterise(doc.pdf, tmp_path, n)
        stamp, pos = _stamp_reads(img)
        assert (stamp.item_id, stamp.page_no) == (item, n)
        x = (pos.top_left.x + pos.bottom_right.x) / 2
        y = (pos.top_left.y + pos.bottom_right.y) / 2
        assert y > img.height * 0.85
        assert (x > img.width * 0.6) if n == 1 else (x < img.width * 0.4)
        # the stamp sits on blank paper: the page's own ink near it is untouched below it
    # the scanned images are unchanged by stamping
    assert [image.read_raw_bytes() for image in embedded_images(doc.pdf)] == [p.data for p in pages]


def test_stamp_moves_off_text_and_says_when_there_is_no_blank_margin(tmp_path):
    page = known(3).image.copy()
    draw = ImageDraw.Draw(page)
    w, h = page.size
    draw.rectangle((w - 1000, h - 260, w - 40, h - 40), fill=(0, 0, 0))  # something printed in the corner
    full = Image.new("RGB", page.size, (0, 0, 0))
    doc = assemble([SourcePage("P1", 1, jpeg_bytes(page)), SourcePage("P2", 2, jpeg_bytes(full))], meta(new_id(Kind.ITEM)))
    assert doc.stamped_over_content == (2,)
    img = _rasterise(doc.pdf, tmp_path, 1)
    stamp, pos = _stamp_reads(img)
    assert stamp.page_no == 1
    box = (
        min(pos.top_left.x, pos.bottom_left.x),
        min(pos.top_left.y, pos.top_right.y),
        max(pos.top_right.x, pos.bottom_right.x),
        max(pos.bottom_left.y, pos.bottom_right.y),
    )
    overlaps = not (box[2] < w - 1000 or box[0] > w - 40 or box[3] < h - 260 or box[1] > h - 40)
    assert not overlaps


def _extract_all(pdf: bytes, tmp_path) -> dict[str, str]:
    from pdfminer.high_level import extract_text
    from pdfminer.layout import LAParams
    from pypdf import PdfReader

    path = tmp_path / "searchable.pdf"
    path.write_bytes(pdf)
    return {
        "pdftotext": subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout,
        "pypdf": "\n".join(p.extract_text() for p in PdfReader(str(path)).pages),
        # boxes_flow=None: lines in page order (the default flow may move a right-aligned line)
        "pdfminer": extract_text(str(path), laparams=LAParams(boxes_flow=None)),
    }


def test_text_layer_extracts_without_cjk_spaces_in_three_readers(tmp_path):
    page = known(4)
    doc = assemble([SourcePage("P1", 1, jpeg_bytes(page.image))], meta(new_id(Kind.ITEM)), {"P1": text_of(page)})
    assert doc.searchable
    texts = _extract_all(doc.pdf, tmp_path)
    for reader, text in texts.items():
        assert char_accuracy(page.text, text) >= 0.99, reader
        assert spaces_between_cjk(text) == 0, (reader, text[:200])
    # the stamp is drawn as outlines: it never leaks into the searchable text
    assert "共 1 页" not in texts["pdftotext"] and "第1页" not in re.sub(r"\s", "", texts["pdftotext"])


def test_text_layer_is_invisible_embedded_and_each_line_within_1mm(tmp_path):
    page = known(5)
    doc = assemble([SourcePage("P1", 1, jpeg_bytes(page.image))], meta(new_id(Kind.ITEM)), {"P1": text_of(page)})
    path = tmp_path / "s.pdf"
    path.write_bytes(doc.pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts)  # embedded, with a ToUnicode map
    bbox = subprocess.run(["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    words = [tuple(float(v) for v in m) for m in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', bbox)]
    scale = 72 / 300
    for line in page.lines:
        want = tuple(v * scale for v in line.box)
        mine = [w for w in words if want[1] < (w[1] + w[3]) / 2 < want[3] and w[0] < want[2] and w[2] > want[0]]
        got = (min(w[0] for w in mine), min(w[1] for w in mine), max(w[2] for w in mine), max(w[3] for w in mine))
        assert max(abs(a - b) for a, b in zip(got, want)) <= MM_PT, (line.text, got, want)
    # invisible: the rendered page looks the same with and without the text layer
    plain = assemble([SourcePage("P1", 1, jpeg_bytes(page.image))], meta(new_id(Kind.ITEM)))
    a, b = _rasterise(doc.pdf, tmp_path, 1, 50), _rasterise(plain.pdf, tmp_path, 1, 50)
    assert a.tobytes() == b.tobytes()


def test_file_name_and_title_come_from_the_catalog():
    m = meta("M0000000000")
    assert m.file_name == "正卷_03起诉状_01_民事起诉状.pdf"
    assert m.title == f"{CASE} 正卷 起诉状 民事起诉状"


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_a_turned_page_is_rotate_metadata_and_its_stamp_and_text_follow_the_display(tmp_path, rotation):
    """A page scanned sideways or upside down and turned at the QC station: the master is embedded as
    it is with /Rotate; a reader shows it upright, the stamp sits bottom-right of what is shown and
    the text layer's lines lie on the printed lines as shown."""
    upright = known(6)
    master = jpeg_bytes(upright.image.rotate(rotation, expand=True))  # as scanned: turned counter-clockwise
    item = new_id(Kind.ITEM)
    doc = assemble([SourcePage("P1", 1, master, "recto", rotation=rotation)], meta(item), {"P1": text_of(upright)})
    pdf = pikepdf.open(io.BytesIO(doc.pdf))
    assert pdf.pages[0].obj.Rotate == rotation
    (image,) = embedded_images(doc.pdf)
    assert image.read_raw_bytes() == master  # never re-encoded
    # shown upright: the rendered page matches the printed page, not the page as scanned
    shown = _rasterise(doc.pdf, tmp_path, 1, 30)
    small = upright.image.convert("L").resize(shown.size)
    assert shown.size == small.size and _mean_difference(shown, small) < 12
    img = _rasterise(doc.pdf, tmp_path, 1)
    stamp, pos = _stamp_reads(img)
    assert (stamp.item_id, stamp.page_no) == (item, 1)
    assert (pos.top_left.y + pos.bottom_right.y) / 2 > img.height * 0.85
    assert (pos.top_left.x + pos.bottom_right.x) / 2 > img.width * 0.6
    texts = _extract_all(doc.pdf, tmp_path)
    for reader, text in texts.items():
        assert char_accuracy(upright.text, text) >= 0.99, reader
        assert spaces_between_cjk(text) == 0, reader
    path = tmp_path / "s.pdf"
    path.write_bytes(doc.pdf)
    bbox = subprocess.run(["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    words = [tuple(float(v) for v in m) for m in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', bbox)]
    for line in upright.lines[:6]:
        want = tuple(v * 72 / 300 for v in line.box)
        mine = [w for w in words if want[1] < (w[1] + w[3]) / 2 < want[3] and w[0] < want[2] and w[2] > want[0]]
        got = (min(w[0] for w in mine), min(w[1] for w in mine), max(w[2] for w in mine), max(w[3] for w in mine))
        assert max(abs(a - b) for a, b in zip(got, want)) <= MM_PT, (line.text, got, want)


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(abs(x - y) for x, y in zip(a.tobytes(), b.tobytes())) / (a.width * a.height)
