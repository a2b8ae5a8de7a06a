"""Operator commands never misfile a page (issue 8, point 4).

Real appliance homes and real scanned images (edge.tooling.pages, edge.tooling.scanner), through the
commands an operator types: `edge pages`, `close` (findings, blank backs that
do not count, the lock), `replace` (one at a time, --cancel, a duplex sheet's
back follows its front), `reopen`, `assign`, `discard`, another appliance's
cover sheet; every action audited; unassigned and discarded pages travel to
central with the next batch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from edge_kit import cover_for, make_home, register
from test_duplex import DUPLEX

from juanzong.edge import audit, batches, repo
from juanzong.edge.appliance import Appliance
from juanzong.edge.config import load_settings
from juanzong.edge.devices.profiles import profiles_root
from juanzong.edge.keys import load_keys
from juanzong.edge.tooling.pages import blank_backside, text_page
from juanzong.edge.tooling.scanner import SimulatedScanner
from juanzong.shared.ids import Kind, format_id, new_id


def jz(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", "edge", args[0], "--home", str(home), *args[1:]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert run.returncode == 0, run.stderr
    return run


def jz_json(home: Path, *args: str):
    return json.loads(jz(home, *args, "--json").stdout)


def ingest(settings) -> None:
    drained = Appliance(settings).ingest_once(settle=0.05)
    assert drained.unfinished == ()


def numbered(db, item_id: str) -> list[tuple[int, str, str]]:
    sql = "SELECT page_no, side, source_name FROM pages WHERE item_id = ? AND role = 'page' ORDER BY page_no"
    return [tuple(r) for r in db.execute(sql, [item_id]).fetchall()]


@pytest.fixture
def duplex_settings(tmp_path: Path, central_keys, monkeypatch):
    """The fi-7160's behaviour (duplex, alternating, blank backs flagged) in a test home."""
    root = tmp_path / "profiles"
    shutil.copytree(profiles_root(), root)
    (root / "scanners" / "duplex-test.toml").write_text(DUPLEX.format(policy="flag"), "utf-8")
    monkeypatch.setenv("JUANZONG_PROFILES", str(root))
    return load_settings(make_home(tmp_path, central_keys, profile="duplex-test"))


# ---------------------------------------------------------------- pages, close


def test_pages_lists_numbers_ids_sides_sources_and_chinese_findings(settings, db):
    intake = register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write_many([cover_for(intake, 0), text_page(1), blank_backside(1, bleed=False)])
    ingest(settings)
    item = intake.items[0].item_id
    listed = jz_json(settings.home, "pages", format_id(item).lower())  # any grouping, any case
    assert [(p["page_no"], p["source_name"]) for p in listed if p["role"] == "page"] == [(1, "scan_0002.jpg"), (2, "scan_0003.jpg")]
    blank = next(p for p in listed if p["page_no"] == 2)
    assert any(f["code"] == "blank" and "空白" in f["message"] for f in blank["findings"])
    text = jz(settings.home, "pages", item).stdout
    assert "第 2 页" in text and format_id(blank["page_id"]) in text and "疑似空白页" in text

    closed = jz_json(settings.home, "close", item)
    assert closed["findings"] == []  # declared 2, scanned 2: a blank front side still counts (only backs do not)
    assert any(f["code"] == "blank" for f in closed["page_findings"])
    assert "疑似空白页" in jz(settings.home, "close", item).stdout  # the pages' findings, not only 多扫/漏扫


def test_blank_backs_from_duplex_never_count_against_declared_pages(duplex_settings):
    """Three single-sided sheets on a duplex scanner: 6 images, 3 pages declared, no 多扫."""
    settings = duplex_settings
    db = repo.connect(settings)
    intake = register(db, settings, items=(("起诉状", 3),))
    SimulatedScanner(settings.hot_folder).write_many(
        [
            cover_for(intake, 0),
            blank_backside(0),
            text_page(1),
            blank_backside(1),
            text_page(2),
            blank_backside(2),
            text_page(3),
            blank_backside(3),
        ]
    )
    ingest(settings)
    closed = jz_json(settings.home, "close", intake.items[0].item_id)
    assert (closed["declared_pages"], closed["scanned_pages"], closed["findings"]) == (3, 3, [])
    assert closed["blank_backs"] == 3  # recorded, kept per the profile (flag), not counted
    assert "另有空白背面 3 页" in jz(settings.home, "close", intake.items[0].item_id).stdout


# ---------------------------------------------------------------- close locks, reopen, assign


@pytest.mark.slow  # a long operator flow of `juanzong edge` processes
def test_a_closed_item_takes_no_more_pages_until_reopened_then_assign_files_them_gap_free(settings, db):
    intake = register(db, settings, items=(("起诉状", 2),))
    item = intake.items[0].item_id
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write_many([cover_for(intake, 0), text_page(1), text_page(2)])
    ingest(settings)
    jz(settings.home, "close", item)

    scanner.write_many([text_page(3), cover_for(intake, 0), text_page(4)])  # late pages, even after its cover sheet
    ingest(settings)
    assert [n for n, _, _ in numbered(db, item)] == [1, 2]
    waiting = jz_json(settings.home, "pages", "--unassigned")
    assert [p["source_name"] for p in waiting] == ["scan_0004.jpg", "scan_0006.jpg"]
    assert all(any(f["code"] == "item_closed" and "已结束扫描" in f["message"] for f in p["findings"]) for p in waiting)

    refused = jz(settings.home, "assign", waiting[0]["page_id"], "--item", item, check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("错误 ITEM_CLOSED: ") and "edge reopen" in refused.stderr
    assert jz(settings.home, "reopen", item, check=False).returncode == 2  # the reason is required
    jz(settings.home, "reopen", item, "--reason", "补扫遗漏的两页")
    jz(settings.home, "assign", waiting[1]["page_id"], waiting[0]["page_id"], "--item", format_id(item), "--at", "2")
    assert numbered(db, item) == [
        (1, "recto", "scan_0002.jpg"),
        (2, "recto", "scan_0006.jpg"),
        (3, "recto", "scan_0004.jpg"),
        (4, "recto", "scan_0003.jpg"),
    ]
    assert jz_json(settings.home, "pages", "--unassigned") == []
    actions = [r.action for r in audit.records(db)]
    assert {"close_item", "reopen_item", "qc_assign"} <= set(actions)


# ---------------------------------------------------------------- replace


def test_one_pending_replacement_at_a_time_and_cancel_is_explicit(settings, db):
    intake = register(db, settings, items=(("起诉状", 3),))
    item = intake.items[0].item_id
    SimulatedScanner(settings.hot_folder).write_many([cover_for(intake, 0), text_page(1), text_page(2), text_page(3)])
    ingest(settings)
    ids = {n: pid for n, pid in db.execute("SELECT page_no, id FROM pages WHERE item_id = ? AND role = 'page'", [item])}
    jz(settings.home, "replace", ids[1])
    second = jz(settings.home, "replace", ids[2], check=False)
    assert second.returncode == 1 and second.stderr.startswith("错误 REPLACE_PENDING: ") and "第 1 页" in second.stderr
    jz(settings.home, "replace", ids[2], "--cancel")  # drops the first, arms the second: both on record
    SimulatedScanner(settings.hot_folder, start=10).write(text_page(9))
    ingest(settings)
    assert [src for _, _, src in numbered(db, item)] == ["scan_0002.jpg", "scan_0010.jpg", "scan_0004.jpg"]
    assert "没有待替换的页面" in jz(settings.home, "replace", "--cancel").stdout
    whats = [r.detail.get("what") for r in audit.records(db) if r.action == "qc_override"]
    assert whats == ["replace", "replace_cancel", "replace"]


@pytest.mark.slow  # a long operator flow of `juanzong edge` processes
def test_the_misfiling_sequence_two_replaces_then_a_duplex_rescan(duplex_settings):
    """Two replaces (the second refused, then --cancel), then the sheet is rescanned on the
    duplex scanner: its back takes the original back's place, never another item's, and the
    sides of every later page stay right."""
    settings = duplex_settings
    db = repo.connect(settings)
    intake = register(db, settings, items=(("起诉状", 4), ("证据材料", 2)))
    first, second = (i.item_id for i in intake.items)
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write_many([cover_for(intake, 0), blank_backside(0), text_page(1), text_page(2), text_page(3), text_page(4)])
    ingest(settings)
    ids = {n: pid for n, pid in db.execute("SELECT page_no, id FROM pages WHERE item_id = ? AND role = 'page'", [first])}
    jz(settings.home, "replace", ids[3])
    assert jz(settings.home, "replace", ids[1], check=False).returncode == 1
    jz(settings.home, "replace", ids[1], "--cancel")

    scanner.write_many([text_page(11), text_page(12)])  # the rescanned sheet 1: front and back
    scanner.write_many([cover_for(intake, 1), blank_backside(5), text_page(21), text_page(22)])
    ingest(settings)
    assert numbered(db, first) == [
        (1, "recto", "scan_0007.jpg"),
        (2, "verso", "scan_0008.jpg"),
        (3, "recto", "scan_0005.jpg"),
        (4, "verso", "scan_0006.jpg"),
    ]
    assert numbered(db, second) == [(1, "recto", "scan_0011.jpg"), (2, "verso", "scan_0012.jpg")]
    replaced = db.execute("SELECT COUNT(*) FROM pages WHERE role = 'replaced' AND item_id = ?", [first]).fetchone()[0]
    assert replaced == 2 and db.execute("SELECT value FROM settings_state WHERE key = 'replace_target'").fetchone() is None


# ---------------------------------------------------------------- discard, foreign covers, sync


def test_discarded_and_unassigned_pages_travel_with_the_next_batch(settings, db):
    intake = register(db, settings, items=(("起诉状", 1),))
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write_many([text_page(1)])  # no cover sheet yet, no active item: unassigned
    scanner.write_many([cover_for(intake, 0), text_page(2), text_page(3)])
    ingest(settings)
    item = intake.items[0].item_id
    extra = db.execute("SELECT id FROM pages WHERE item_id = ? AND page_no = 2", [item]).fetchone()[0]
    assert jz(settings.home, "discard", extra, check=False).returncode == 2  # a reason is required
    jz(settings.home, "discard", extra, "--reason", "误扫的空白纸")
    batch_id = batches.seal(db, settings.appliance_id, load_keys(settings.keys_dir))
    manifest = json.loads(db.execute("SELECT manifest FROM batches WHERE id = ?", [batch_id]).fetchone()[0])
    by_role = {(p["role"], p["item_id"] is None) for p in manifest["pages"]}
    assert ("discarded", False) in by_role and ("page", True) in by_role
    discarded = next(p for p in manifest["pages"] if p["role"] == "discarded")
    assert discarded["discard_reason"] == "误扫的空白纸"
    assert any(r.action == "qc_discard" for r in audit.records(db))


def test_a_cover_sheet_from_another_appliance_is_reported_and_its_pages_wait(settings, db):
    from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet

    intake = register(db, settings, items=(("起诉状", 2),))
    stranger = new_id(Kind.ITEM)  # printed by another appliance: ours in form, unknown here
    foreign = render_cover_sheet(
        CoverSheetInfo(
            item_id=stranger, intake_id=new_id(Kind.INTAKE), case_number="（2026）京0105民初9号", item_name="答辩状", declared_pages=1
        )
    )
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write_many([cover_for(intake, 0), text_page(1), foreign, text_page(2)])
    ingest(settings)
    item = intake.items[0].item_id
    assert [src for _, _, src in numbered(db, item)] == ["scan_0002.jpg"]  # the page after it did not join our item
    cover = db.execute("SELECT findings FROM pages WHERE role = 'cover_unknown'").fetchone()[0]
    assert format_id(stranger) in cover and "不是本设备登记的材料" in cover
    assert [p["source_name"] for p in jz_json(settings.home, "pages", "--unassigned")] == ["scan_0004.jpg"]


def test_edge_run_logs_one_chinese_line_per_file(settings, db, caplog):
    import logging

    intake = register(db, settings, items=(("起诉状", 2),))
    SimulatedScanner(settings.hot_folder).write_many([cover_for(intake, 0), text_page(1)])
    (settings.hot_folder / "scan_0003.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut")
    with caplog.at_level(logging.INFO, logger="juanzong"):
        Appliance(settings).ingest_once(settle=0.05)
    lines = [r.getMessage() for r in caplog.records if r.name in ("juanzong.appliance",)]
    assert any(line.startswith("scan_0001.jpg → 封面页：（2026）京0102民初1234号 第1件 起诉状") for line in lines), lines
    assert any(line.startswith("scan_0002.jpg → （2026）京0102民初1234号 第1件 起诉状：第 1 页") for line in lines), lines
    assert any(line.startswith("scan_0003.jpg 已隔离：") for line in lines), lines


def test_a_long_file_shows_progress_then_its_one_line(settings, db, caplog):
    """A 20-page fax TIFF after the cover sheet: progress every 10 pages while it is processed,
    then one line naming the item and the page span."""
    import io
    import logging

    from PIL import Image

    intake = register(db, settings, items=(("起诉状", 20),))
    SimulatedScanner(settings.hot_folder).write(cover_for(intake, 0))
    sheets = [Image.new("1", (400, 560), 1) for _ in range(20)]
    for n, sheet in enumerate(sheets):
        sheet.paste(0, (40, 40 + n * 20, 360, 52 + n * 20))  # a line of "text", a different one on each page
    out = io.BytesIO()
    sheets[0].save(out, "TIFF", compression="group4", save_all=True, append_images=sheets[1:], dpi=(200, 200))
    (settings.hot_folder / "scan_0002.tif").write_bytes(out.getvalue())
    with caplog.at_level(logging.INFO, logger="juanzong"):
        ingest(settings)
    lines = [r.getMessage() for r in caplog.records]
    assert "scan_0002.tif：已处理 10 页" in lines and "scan_0002.tif：已处理 20 页" in lines, lines
    assert any(line.startswith("scan_0002.tif → （2026）京0102民初1234号 第1件 起诉状：第 1–20 页") for line in lines), lines
    assert lines.index("scan_0002.tif：已处理 10 页") < next(i for i, line in enumerate(lines) if line.startswith("scan_0002.tif →"))
