"""A duplex scanner: recto/verso from the profile's order, the cover sheet's back, blank versos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from edge_kit import cover_for, make_home, register

from juanzong.edge.appliance import Appliance
from juanzong.edge.config import load_settings
from juanzong.edge.devices.profiles import profiles_root
from juanzong.edge.repo import connect
from juanzong.edge.tooling.pages import blank_backside, text_page
from juanzong.edge.tooling.scanner import SimulatedScanner

DUPLEX = """schema = 1
kind = "scanner"
name = "duplex-test"
title = "双面扫描测试"
vendor = "test"
model = "duplex"

[hot_folder]
path = "hot"
poll = false
poll_interval_seconds = 0.2
settle_seconds = 0.05
tmpfs_required = false

[files]
types = ["jpeg"]
naming = '^scan_\\d{{4,}}\\.jpg$'
ignore = ['^\\.', '\\.tmp$']

[image]
dpi = 300
colour = "colour"
max_pixels = 40_000_000

[duplex]
enabled = true
order = "alternating"

[blank_backside]
policy = "{policy}"

[barcode]
backend = "zxing"
"""


@pytest.fixture
def duplex_home(tmp_path: Path, central_keys, monkeypatch, request):
    root = tmp_path / "profiles"
    shutil.copytree(profiles_root(), root)
    (root / "scanners" / "duplex-test.toml").write_text(DUPLEX.format(policy=request.param), "utf-8")
    monkeypatch.setenv("JUANZONG_PROFILES", str(root))
    return make_home(tmp_path, central_keys, profile="duplex-test")


def rows(db, item_id):
    return db.execute("SELECT role, page_no, side FROM pages WHERE item_id = ? ORDER BY rowid", [item_id]).fetchall()


@pytest.mark.parametrize("duplex_home", ["flag"], indirect=True)
def test_sides_alternate_from_the_cover_sheet_and_its_blank_back_is_not_a_page(duplex_home):
    settings = load_settings(duplex_home)
    db = connect(settings.db_path)
    intake = register(db, settings, items=(("起诉状", 3), ("证据材料", 1)))
    scanner = SimulatedScanner(settings.hot_folder)
    # sheet 1: cover / its blank back; sheets 2-3: pages front and back; then item 2
    scanner.write_many(
        [
            cover_for(intake, 0),
            blank_backside(1),
            text_page(1),
            text_page(2),
            text_page(3),
            blank_backside(2),
            cover_for(intake, 1),
            blank_backside(3),
            text_page(4),
            blank_backside(4),
        ]
    )
    Appliance(settings).ingest_once(settle=0.05)

    first, second = (i.item_id for i in intake.items)
    assert rows(db, first) == [
        ("cover", None, "recto"),
        ("cover_back", None, "verso"),
        ("page", 1, "recto"),
        ("page", 2, "verso"),
        ("page", 3, "recto"),
        ("page", 4, "verso"),
    ]
    assert rows(db, second) == [("cover", None, "recto"), ("cover_back", None, "verso"), ("page", 1, "recto"), ("page", 2, "verso")]
    # policy "flag": the blank back of page 3 keeps its number, flagged for the operator
    findings = db.execute("SELECT findings FROM pages WHERE item_id = ? AND page_no = 4", [first]).fetchone()[0]
    assert any(f["code"] == "blank" for f in json.loads(findings))


@pytest.mark.parametrize("duplex_home", ["drop"], indirect=True)
def test_blank_versos_are_dropped_with_a_record_where_the_profile_says_so(duplex_home):
    settings = load_settings(duplex_home)
    db = connect(settings.db_path)
    intake = register(db, settings, items=(("起诉状", 2),))
    SimulatedScanner(settings.hot_folder).write_many(
        [cover_for(intake, 0), blank_backside(1), text_page(1), blank_backside(2), text_page(2), text_page(3)]
    )
    Appliance(settings).ingest_once(settle=0.05)

    item = intake.items[0].item_id
    assert rows(db, item) == [
        ("cover", None, "recto"),
        ("cover_back", None, "verso"),
        ("page", 1, "recto"),
        ("blank_dropped", None, "verso"),
        ("page", 2, "recto"),
        ("page", 3, "verso"),
    ]
    # dropped means unnumbered, never deleted: the image is still stored, encrypted
    assert db.execute("SELECT COUNT(*) FROM blobs WHERE id IN (SELECT blob_id FROM pages WHERE role = 'blank_dropped')").fetchone()[0] == 1
