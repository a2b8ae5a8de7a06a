"""An item's whole way to the case system with real processes (`central serve`, `edge run` and
its documents worker): scanned, closed, stamped, OCR'd in the background, synced; central
hands the searchable PDF to the archive office and the filing notice to the case system."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pikepdf
import pytest
import zxingcpp
from PIL import Image

from juanzong.edge.tooling import demo
from juanzong.edge.tooling.pages import court_page
from juanzong.edge.tooling.scanner import SimulatedScanner
from juanzong.shared.ids import parse_page_stamp

pytestmark = pytest.mark.e2e


@pytest.mark.slow
def test_a_closed_item_reaches_central_as_a_stamped_searchable_pdf_with_a_notice(tmp_path: Path):
    port = demo.free_port()
    homes = demo.setup_homes(tmp_path, port)
    central = demo.start(["central", "serve", "--home", str(homes.central)], tmp_path / "central.log")
    edge = None
    try:
        demo.wait_central(homes.edge)
        out = demo.juanzong(
            "edge",
            "intake",
            "add",
            "--home",
            str(homes.edge),
            "--case",
            demo.DEMO_CASE,
            "--submitter",
            "张三",
            "--item",
            "起诉状:1",
            "--no-print",
            "--json",
        )
        intake = json.loads(out.stdout)
        item = intake["items"][0]
        edge = demo.start(["edge", "run", "--home", str(homes.edge)], tmp_path / "edge.log")
        from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet

        scanner = SimulatedScanner(homes.edge / "hot")
        scanner.write(
            render_cover_sheet(
                CoverSheetInfo(
                    item_id=item["item_id"],
                    intake_id=intake["intake_id"],
                    case_number=intake["case_number"],
                    item_name=item["name"],
                    declared_pages=1,
                )
            )
        )
        page = court_page(21)
        scanner.write(page.image)
        demo.wait_synced(homes.edge, 1)
        demo.close_items(homes.edge, intake)
        demo.wait_documents(homes.edge, 1)

        pdf_path = tmp_path / "doc.pdf"
        demo.juanzong("central", "document", "--home", str(homes.central), item["item_id"], "--out", str(pdf_path))
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout
        from juanzong.edge.documents.quality import char_accuracy, spaces_between_cjk

        # no space between CJK characters beyond the printed 　 gaps (审判员　张三) the OCR reads as one
        assert char_accuracy(page.text, text) >= 0.97 and spaces_between_cjk(text) <= page.text.count("　")
        subprocess.run(["pdftoppm", "-r", "300", "-gray", "-singlefile", str(pdf_path), str(tmp_path / "p")], check=True)
        codes = zxingcpp.read_barcodes(Image.open(tmp_path / "p.pgm"), formats=zxingcpp.BarcodeFormat.QRCode)
        stamps = [parse_page_stamp(c.text) for c in codes if parse_page_stamp(c.text)]
        assert [(s.item_id, s.page_no) for s in stamps] == [(item["item_id"], 1)]
        assert len(pikepdf.open(io.BytesIO(pdf_path.read_bytes())).pages) == 1

        notices = json.loads(demo.juanzong("central", "notices", "--home", str(homes.central), "--json").stdout)
        assert [(n["item_id"], n["pages"], n["kind"]) for n in notices] == [(item["item_id"], 1, "filed")]
    finally:
        demo.stop(edge)
        demo.stop(central)
