"""QC station actions on the data layer (edge.items, edge.quarantine): numbering stays 1..n,
every action is audited with its operator, and the changes travel to central in the next batch."""

from __future__ import annotations

import json

import pytest
from edge_kit import cover_for, register

from juanzong.edge import batches, items, quarantine
from juanzong.edge.appliance import Appliance
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.keys import load_keys
from juanzong.edge.tooling.pages import text_page
from juanzong.edge.tooling.scanner import SimulatedScanner
from juanzong.shared.errors import AppError, ErrorCode


def scan(settings, intake, counts: dict[int, int], seed: int = 0) -> None:
    sc = SimulatedScanner(settings.hot_folder)
    for n, pages in counts.items():
        sc.write_many([cover_for(intake, n), *(text_page(seed + n * 10 + i) for i in range(pages))], quality=60)
    Appliance(settings).ingest_once()


def pages_of(db, item_id):
    return db.execute("SELECT id, page_no FROM pages WHERE item_id = ? AND role = 'page' ORDER BY page_no", [item_id]).fetchall()


def numbers(db, item_id):
    return [r[1] for r in pages_of(db, item_id)]


def actions(db, actor):
    return [r[0] for r in db.execute("SELECT action FROM audit WHERE actor = ? ORDER BY seq", [actor])]


@pytest.fixture
def two_items(settings, db):
    intake = register(db, settings, items=(("起诉状", 4), ("证据材料", 2)))
    scan(settings, intake, {0: 4, 1: 2})
    return intake, intake.items[0].item_id, intake.items[1].item_id


def test_reorder_discard_move_and_rotate_keep_numbers_gap_free(settings, db, two_items):
    _, a, b = two_items
    app = settings.appliance_id
    ids = [r[0] for r in pages_of(db, a)]

    items.move_page(db, app, ids[3], 1, actor="O01")
    assert [r[0] for r in pages_of(db, a)] == [ids[3], ids[0], ids[1], ids[2]]
    items.discard_page(db, app, ids[0], "空白页", actor="O01")
    assert numbers(db, a) == [1, 2, 3]
    assert db.execute("SELECT role, page_no, discard_reason FROM pages WHERE id = ?", [ids[0]]).fetchone() == ("discarded", None, "空白页")
    items.move_pages(db, app, [ids[1], ids[2]], b, actor="O01")
    assert numbers(db, a) == [1] and numbers(db, b) == [1, 2, 3, 4]
    assert [r[0] for r in pages_of(db, b)][2:] == [ids[1], ids[2]]
    with pytest.raises(AppError) as err:
        items.discard_page(db, app, ids[3], "  ", actor="O01")
    assert err.value.code == ErrorCode.QC_REASON_REQUIRED
    with pytest.raises(AppError) as err:
        items.move_page(db, app, ids[3], 5, actor="O01")
    assert err.value.code == ErrorCode.QC_POSITION_INVALID
    assert actions(db, "O01") == ["qc_move", "qc_discard", "qc_move_pages"]


def test_approval_needs_matching_counts_or_a_reason_and_two_people_for_evidence(settings, db, two_items):
    _, a, b = two_items
    app, rules = settings.appliance_id, settings.qc_two_person
    first = pages_of(db, a)[0][0]
    items.discard_page(db, app, first, "重复扫描", actor="O01")
    with pytest.raises(AppError) as err:
        items.approve_item(db, app, a, "O01", "", rules)
    assert err.value.code == ErrorCode.QC_COUNT_MISMATCH and "申报 4 页，实际扫描 3 页" in err.value.message
    done = items.approve_item(db, app, a, "O01", "原件第 2 页为空白，当事人确认", rules)
    assert done["two_person"] is False  # 起诉状, 正卷
    with pytest.raises(AppError) as err:
        items.move_page(db, app, pages_of(db, a)[0][0], 2, actor="O01")
    assert err.value.code == ErrorCode.QC_ITEM_LOCKED

    assert items.approve_item(db, app, b, "O01", "", rules)["two_person"] is True  # 证据材料
    with pytest.raises(AppError) as err:
        items.check_item(db, app, b, "O01")
    assert err.value.code == ErrorCode.QC_SAME_OPERATOR
    items.check_item(db, app, b, "S01")
    refused = db.execute("SELECT actor, outcome FROM audit WHERE action IN ('qc_approve', 'qc_check') ORDER BY seq").fetchall()
    assert refused == [("O01", "refused"), ("O01", "ok"), ("O01", "ok"), ("O01", "refused"), ("S01", "ok")]

    items.reopen_item(db, app, a, "发现漏扫一页", actor="S01")
    assert db.execute("SELECT approved_at, closed_at FROM items WHERE id = ?", [a]).fetchone() == (None, None)


def test_changes_travel_with_the_next_batch_and_central_reconciliation_sees_them(settings, db, two_items):
    _, a, b = two_items
    app, keys = settings.appliance_id, load_keys(settings.keys_dir)
    batches.seal(db, app, keys)
    ids = [r[0] for r in pages_of(db, a)]
    items.discard_page(db, app, ids[0], "空白页", actor="O01")
    items.approve_item(db, app, a, "O01", "当事人少交一页", settings.qc_two_person)
    items.approve_item(db, app, b, "O01", "", settings.qc_two_person)
    second = json.loads(db.execute("SELECT manifest FROM batches WHERE id = ?", [batches.seal(db, app, keys)]).fetchone()[0])

    by_id = {p["page_id"]: p for p in second["pages"]}
    assert by_id[ids[0]]["role"] == "discarded" and by_id[ids[0]]["discard_reason"] == "空白页" and by_id[ids[0]]["page_no"] is None
    assert [by_id[i]["page_no"] for i in ids[1:]] == [1, 2, 3]
    qc = {i["item_id"]: i["qc"] for i in second["items"]}
    assert qc[a]["approved_by"] == "O01" and qc[a]["reason"] == "当事人少交一页" and not qc[a]["two_person"]
    assert qc[b]["two_person"] and qc[b]["checked_by"] is None

    from juanzong.central.reconcile.report import ItemLine, _item_text, _qc_fields

    fields = _qc_fields(json.dumps(next(i for i in second["items"] if i["item_id"] == b)))
    assert fields["qc_state"] == "awaiting_check"
    line = ItemLine(a, 1, "起诉状", "main", 4, 3, 3, 3, **_qc_fields(json.dumps(next(i for i in second["items"] if i["item_id"] == a))))
    assert "作废 1 页" in _item_text(line) and "已批准（O01）" in _item_text(line) and "漏扫 1 页" in _item_text(line)


def test_unassigned_page_is_inserted_at_a_position(settings, db):
    intake = register(db, settings, items=(("起诉状", 3),))
    SimulatedScanner(settings.hot_folder).write_many([text_page(90)], quality=60)  # no cover sheet yet: unassigned
    scan(settings, intake, {0: 2})
    loose = db.execute("SELECT id FROM pages WHERE item_id IS NULL AND role = 'page'").fetchone()[0]
    item = intake.items[0].item_id
    items.assign_page(db, settings.appliance_id, loose, item, 1, actor="O01")
    assert pages_of(db, item)[0] == (loose, 1) and numbers(db, item) == [1, 2, 3]


def test_quarantine_discard_shreds_the_local_key_and_keeps_the_record(settings, db):
    (settings.hot_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    Appliance(settings).ingest_once()
    qid, blob = db.execute("SELECT id, blob_id FROM quarantine").fetchone()
    store = BlobStore(settings.blob_dir)
    assert store.exists(blob)
    quarantine.discard(db, store, settings.appliance_id, qid, "扫描仪卡纸产生的残缺文件", actor="O01")
    assert db.execute("SELECT wrapped_local IS NULL, purged_at IS NOT NULL FROM blobs WHERE id = ?", [blob]).fetchone() == (1, 1)
    assert not store.exists(blob)
    assert quarantine.shelf(db)[0]["discard_reason"] == "扫描仪卡纸产生的残缺文件"
    with pytest.raises(AppError):
        quarantine.retry(db, None, None, settings.appliance_id, settings.hot_folder, qid)  # type: ignore[arg-type]
