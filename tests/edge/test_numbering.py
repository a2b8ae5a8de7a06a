"""Page numbers, item close (多扫/漏扫), replacement rescans and QC tied to the item."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from edge_kit import cover_for, register

from juanzong.edge import batches
from juanzong.edge.appliance import Appliance
from juanzong.edge.items import arm_replacement, close_item
from juanzong.edge.keys import load_keys
from juanzong.edge.repo import state, write_tx
from juanzong.edge.repo.state import StateKey
from juanzong.edge.tooling.pages import degrade, text_page
from juanzong.edge.tooling.scanner import SimulatedScanner


def numbers(db, item_id):
    return [r[0] for r in db.execute("SELECT page_no FROM pages WHERE item_id = ? AND role = 'page' ORDER BY page_no", [item_id])]


def test_closing_an_item_reports_under_and_over_scan(settings, db):
    intake = register(db, settings, items=(("起诉状", 3), ("证据材料", 1)))
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write_many([cover_for(intake, 0), text_page(1), text_page(2)])
    scanner.write_many([cover_for(intake, 1), text_page(3), text_page(4)])
    Appliance(settings).ingest_once()

    under = close_item(db, settings.appliance_id, intake.items[0].item_id)
    over = close_item(db, settings.appliance_id, intake.items[1].item_id)

    assert [f["code"] for f in under["findings"]] == ["under_scan"] and "漏扫" in under["findings"][0]["message"]
    assert [f["code"] for f in over["findings"]] == ["over_scan"] and "多扫" in over["findings"][0]["message"]
    row = db.execute("SELECT closed_at, count_findings FROM items WHERE id = ?", [intake.items[0].item_id]).fetchone()
    assert row[0] and json.loads(row[1])[0]["code"] == "under_scan"


def test_a_rescan_replaces_one_page_and_keeps_every_other_number(settings, db):
    intake = register(db, settings, items=(("起诉状", 4),))
    item = intake.items[0].item_id
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write_many([cover_for(intake, 0), *(text_page(i) for i in range(4))])
    Appliance(settings).ingest_once()
    keys = load_keys(settings.keys_dir)
    first_batch = batches.seal(db, settings.appliance_id, keys)
    old_id = db.execute("SELECT id FROM pages WHERE item_id = ? AND page_no = 3", [item]).fetchone()[0]

    arm_replacement(db, settings.appliance_id, old_id)
    scanner.write_many([text_page(2), text_page(5)])  # the rescan of page 3, then one more page
    Appliance(settings).ingest_once()

    assert numbers(db, item) == [1, 2, 3, 4, 5]
    new = db.execute("SELECT id, replaces FROM pages WHERE item_id = ? AND page_no = 3", [item]).fetchone()
    assert new[1] == old_id
    old = db.execute("SELECT role, page_no, replaced_by FROM pages WHERE id = ?", [old_id]).fetchone()
    assert old == ("replaced", None, new[0])  # kept, never deleted, numberless
    # the replacement travels to central with the old page marked replaced
    second = json.loads(
        db.execute("SELECT manifest FROM batches WHERE id = ?", [batches.seal(db, settings.appliance_id, keys)]).fetchone()[0]
    )
    assert first_batch and {(p["page_id"], p["role"]) for p in second["pages"]} >= {(old_id, "replaced"), (new[0], "page")}


def test_a_page_scanned_twice_in_an_item_is_flagged_as_duplicate(settings, db):
    intake = register(db, settings, items=(("证据材料", 3),))
    page = text_page(11)
    SimulatedScanner(settings.hot_folder).write_many([cover_for(intake, 0), page, text_page(12), degrade(page, "jpeg30")])
    Appliance(settings).ingest_once()
    rows = db.execute("SELECT id, page_no, findings FROM pages WHERE role = 'page' ORDER BY page_no").fetchall()
    dup = [f for f in json.loads(rows[2][2]) if f["code"] == "duplicate"]
    assert dup and dup[0]["value"] == rows[0][0]
    assert not any(f["code"] == "duplicate" for f in json.loads(rows[1][2]))


def test_a_colour_original_scanned_in_grey_is_flagged(settings, db):
    intake = register(db, settings, items=(("证据材料", 2),))
    SimulatedScanner(settings.hot_folder).write_many([cover_for(intake, 0), text_page(1, colour=True), text_page(2, colour=False)])
    Appliance(settings).ingest_once()
    rows = db.execute("SELECT mode, findings FROM pages WHERE role = 'page' ORDER BY page_no").fetchall()
    assert rows[0][0] == "RGB" and "colour_expected" not in rows[0][1]
    assert rows[1][0] == "L" and "colour_expected" in rows[1][1]


RECORDER = """
import sys
from pathlib import Path
from juanzong.edge.appliance import Appliance
from juanzong.edge.config import load_settings
app = Appliance(load_settings(Path(sys.argv[1])))
for name in sys.argv[2:]:
    assert app.take(app.folder.path / name).status == "stored"
"""


@pytest.mark.slow  # several writer processes ingesting at once
def test_concurrent_writers_never_share_or_skip_a_page_number(settings, db, edge_home):
    """Two processes commit pages of one item at the same time: the number is
    allocated inside the immediate transaction, so contention cannot break it."""
    intake = register(db, settings, items=(("证据材料", 60),))
    item = intake.items[0].item_id
    with write_tx(db):
        state.put(db, StateKey.ACTIVE_ITEM, item)
    paths = SimulatedScanner(settings.hot_folder).write_many([text_page(i % 7, colour=False) for i in range(60)], quality=60)
    names = [p.name for p in paths]
    workers = [
        subprocess.Popen([sys.executable, "-P", "-c", RECORDER, str(edge_home), *names[k::2]], stderr=subprocess.PIPE) for k in range(2)
    ]
    errors = [w.communicate(timeout=240)[1].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0], errors

    assert numbers(db, item) == list(range(1, 61))
    assert db.execute("SELECT COUNT(DISTINCT source_name) FROM pages WHERE role = 'page'").fetchone()[0] == 60
