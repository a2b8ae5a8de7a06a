"""The appliance's commands as a clerk or operator runs them: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import zxingcpp
from PIL import Image

from juanzong.shared.ids import make_payload


def jz(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", "-m", "juanzong.shared.cli", *args], capture_output=True, text=True, check=check)


def test_intake_cover_sheet_active_and_status(edge_home: Path, tmp_path: Path):
    home = ["--home", str(edge_home)]
    out = jz(
        "edge",
        "intake",
        "add",
        *home,
        "--json",
        "--case",
        "(2026)京0102民初88号",
        "--submitter",
        "王五",
        "--item",
        "起诉状:3",
        "--item",
        "证据材料：5：复印件",
        "--received",
        "2026-02-13T15:00",
    )
    intake = json.loads(out.stdout)
    assert intake["case_number"] == "（2026）京0102民初88号"
    assert intake["deadline"] == "2026-02-14T12:00:00+08:00"  # Friday afternoon before 春节 → the adjusted Saturday
    assert [(i["name"], i["declared_pages"]) for i in intake["items"]] == [("起诉状", 3), ("证据材料", 5)]
    assert intake["receipt"][0]["printed"] is True
    escpos = (edge_home / "printer" / "receipts.escpos").read_bytes()  # the file printer's output
    assert escpos.startswith(b"\x1b@") and make_payload(intake["intake_id"]).encode() in escpos

    item = intake["items"][1]["item_id"]
    png = tmp_path / "cover.png"
    jz("edge", "cover-sheet", *home, item, "--out", str(png))
    sheet = Image.open(png)
    assert sheet.size == (2480, 3508) and round(sheet.info["dpi"][0]) == 300
    texts = {r.text for r in zxingcpp.read_barcodes(sheet, formats=(zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128))}
    assert texts == {make_payload(item)}

    assert json.loads(jz("edge", "active", *home, item, "--json").stdout) == {"active_item": item}
    status = json.loads(jz("edge", "status", *home, "--json").stdout)
    assert status["active_item"] == item
    assert {"hot_folder", "items", "unassigned", "quarantine", "batches"} <= set(status)
    assert [(i["id"], i["declared_pages"], i["pages"]) for i in status["items"]] == [(intake["items"][0]["item_id"], 3, 0), (item, 5, 0)]


def test_wrong_input_is_refused_in_chinese_with_a_code(edge_home: Path):
    home = ["--home", str(edge_home)]
    bad_case = jz("edge", "intake", "add", *home, "--case", "2026京民初1号", "--submitter", "王五", "--item", "起诉状:3", check=False)
    assert bad_case.returncode == 1 and "CASE_NUMBER_INVALID" in bad_case.stderr and "应为" in bad_case.stderr
    bad_item = jz("edge", "intake", "add", *home, "--case", "(2026)京0102民初1号", "--submitter", "王五", "--item", "起诉状", check=False)
    assert bad_item.returncode == 1 and "INTAKE_ITEM_INVALID" in bad_item.stderr and "名称:页数" in bad_item.stderr
    classified = jz(
        "edge",
        "intake",
        "add",
        *home,
        "--case",
        "(2026)京0102刑初1号",
        "--submitter",
        "王五",
        "--item",
        "起诉书:3",
        "--classified",
        check=False,
    )
    assert classified.returncode == 1 and "CASE_CLASSIFIED_REFUSED" in classified.stderr and "涉密" in classified.stderr
    typo = jz("edge", "cover-sheet", *home, "M-0000-0000-1", "--out", "/dev/null", check=False)
    assert typo.returncode == 1 and "ID_INVALID" in typo.stderr
