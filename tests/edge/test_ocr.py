"""OCR: the bundled models only, a loud Chinese error without them, and one real page
read by rapidocr into a searchable PDF (the only test here that runs the model)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from juanzong.edge.documents import ocr
from juanzong.edge.documents.assemble import CatalogPlace, DocumentMeta, SourcePage, assemble
from juanzong.edge.documents.quality import char_accuracy, fold, spaces_between_cjk
from juanzong.edge.tooling.pages import court_page, jpeg_bytes
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id

MM_PX = 300 / 25.4


def test_a_missing_model_fails_loudly_in_chinese(tmp_path):
    with pytest.raises(AppError) as err:
        ocr.OcrEngine(model_dir=tmp_path)
    assert err.value.code is ErrorCode.OCR_MODEL_MISSING
    assert "PP-OCRv6_det_small.onnx" in err.value.message and "不会联网下载" in err.value.message


def test_an_altered_model_is_refused(tmp_path):
    bundled = ocr.bundled_model_dir()
    for name, _ in ocr.MODELS.values():
        shutil.copyfile(bundled / name, tmp_path / name)
    with open(tmp_path / ocr.MODELS["rec"][0], "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(AppError) as err:
        ocr.checked_models(tmp_path)
    assert err.value.code is ErrorCode.OCR_MODEL_INVALID


def test_rapidocr_can_never_download():
    from rapidocr.utils.download_file import DownloadFile, DownloadFileInput

    ocr.refuse_downloads()
    with pytest.raises(AppError) as err:
        DownloadFile.run(
            DownloadFileInput(file_url="https://example.invalid/m.onnx", sha256=None, save_path="/nonexistent/m.onnx", logger=None)
        )
    assert err.value.code is ErrorCode.OCR_DOWNLOAD_REFUSED


@pytest.mark.slow
def test_one_page_through_rapidocr_into_a_searchable_pdf(tmp_path):
    page = court_page(11, font_px=46)
    master = jpeg_bytes(page.image)
    text = ocr.OcrEngine(ocr.TUNED).read_bytes(master)
    assert char_accuracy(page.text, text.text) >= 0.99
    # each recognised line lies within 1 mm of the printed line it read
    for line in page.lines:
        centre = (line.box[1] + line.box[3]) / 2
        hits = [t for t in text.lines if t.y0 < centre < t.y1 and t.x0 < line.box[2] and t.x1 > line.box[0]]
        got = (min(t.x0 for t in hits), min(t.y0 for t in hits), max(t.x1 for t in hits), max(t.y1 for t in hits))
        assert max(abs(a - b) for a, b in zip(got, line.box)) <= MM_PX, (line.text, got, line.box)
    doc = assemble(
        [SourcePage("P1", 1, master)],
        DocumentMeta(new_id(Kind.ITEM), "（2026）京0102民初1234号", "判决书", CatalogPlace("main", "判决书", 9, 1)),
        {"P1": text},
    )
    path = tmp_path / "s.pdf"
    path.write_bytes(doc.pdf)
    extracted = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert char_accuracy(page.text, extracted) >= 0.99
    # no space added: the only ones are those the OCR read from printed 　 gaps (审判员　张三)
    assert spaces_between_cjk(extracted) == spaces_between_cjk(text.text)


@pytest.mark.slow
def test_the_workers_settings_keep_runs_of_one_digit():
    """Amounts and ID numbers: a run like 800000000 must come back whole (narrowing the line images
    before recognition, which an earlier version did for speed, read it as 800000)."""
    from juanzong.edge.tooling.pages import figures_page

    page = figures_page(0, font_px=40)
    text = ocr.OcrEngine(ocr.TUNED).read_bytes(jpeg_bytes(page.image))
    assert char_accuracy(page.text, text.text) >= 0.999
    runs = re.findall(r"(\d)\1{3,}", page.text)
    assert runs and fold(text.text).count("0000") >= fold(page.text).count("0000")
