"""The reconciliation report: declared vs received pages, and sequence gaps, via CLI and API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from central_kit import Scanner, report_json, run_cli, submit, upload
from litestar.testing import TestClient

from juanzong.central.reconcile.report import sequence_gaps
from juanzong.shared.ids import format_id


def two_item_batch(client: TestClient, scanner: Scanner) -> dict[str, Any]:
    """Item 1 declared 3, 2 scanned (漏扫 1); item 2 declared 3, 4 scanned (多扫 1)."""
    intake = scanner.intake(submitter="北京某某律师事务所")
    short = scanner.item(intake, 3, seq=1, name="起诉状")
    over = scanner.item(intake, 3, seq=2, name="证据材料")
    pages = [scanner.page(short, n) for n in (1, 2)] + [scanner.page(over, n) for n in (1, 2, 3, 4)]
    doc = scanner.manifest(1, [intake], [short, over], pages)
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(doc)).status_code == 201
    return doc


def test_missing_and_extra_pages_per_item_and_in_totals(client: TestClient, scanner: Scanner) -> None:
    two_item_batch(client, scanner)
    report = report_json(client)
    (intake,) = report["intakes"]
    assert intake["submitter"] == "北京某某律师事务所" and intake["deadline"] == "2026-03-02T18:00:00+08:00"
    lines = {i["name"]: i for i in intake["items"]}
    assert (lines["起诉状"]["declared_pages"], lines["起诉状"]["received_pages"], lines["起诉状"]["missing"], lines["起诉状"]["extra"]) == (
        3,
        2,
        1,
        0,
    )
    assert (
        lines["证据材料"]["declared_pages"],
        lines["证据材料"]["received_pages"],
        lines["证据材料"]["missing"],
        lines["证据材料"]["extra"],
    ) == (3, 4, 0, 1)
    assert report["totals"] == {
        "intakes": 1,
        "items": 2,
        "declared_pages": 6,
        "received_pages": 6,
        "missing": 1,
        "extra": 1,
        "unattached_pages": 0,
        "discarded_unassigned_pages": 0,
        "duplicate_pages": 0,
        "duplicate_page_numbers": 0,
        "skipped_page_numbers": 0,
    }


def test_cli_report_in_chinese_and_as_json(client: TestClient, scanner: Scanner, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two_item_batch(client, scanner)
    rc, text = run_cli(["report", "--home", str(home)], capsys)
    assert rc == 0
    assert "案号 （2024）京0102民初1234号" in text
    assert "起诉状" in text and "申报 3 页  已收 2 页  漏扫 1 页" in text
    assert "证据材料" in text and "多扫 1 页" in text
    assert "合计：收取登记 1 件，材料 2 件" in text
    assert f"设备 {format_id(scanner.appliance_id)}（一号扫描点）：批次 1 个" in text  # one printed spelling
    rc, out = run_cli(["report", "--home", str(home), "--json"], capsys)
    from_cli, from_api = json.loads(out), report_json(client)
    from_cli.pop("generated_at"), from_api.pop("generated_at")
    assert from_cli == from_api


def test_sequence_gap_is_recorded_and_a_late_lower_seq_is_refused(
    client: TestClient, scanner: Scanner, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    intake = scanner.intake()
    item = scanner.item(intake, 3)
    pages = {seq: scanner.page(item, seq) for seq in (1, 2, 3)}
    upload(client, scanner, list(pages.values()))
    batches = {seq: scanner.manifest(seq, [intake], [item], [pages[seq]]) for seq in (1, 2, 3)}
    for seq in (1, 3):  # batch 2 is still in the appliance's outbox
        assert submit(client, scanner.sign(batches[seq])).status_code == 201
    (line,) = report_json(client)["appliances"]
    assert (line["batches"], line["first_seq"], line["last_seq"], line["seq_gaps"]) == (2, 1, 3, [[2, 2]])
    _, text = run_cli(["report", "--home", str(home)], capsys)
    assert "缺失序号 2" in text
    # sequence numbers only move forward (issue 9): a lower one is refused, the gap stays visible
    late = submit(client, scanner.sign(batches[2]))
    assert late.status_code == 409 and late.json()["error"] == "MANIFEST_SEQ_BACKWARDS"
    (line,) = report_json(client)["appliances"]
    assert line["seq_gaps"] == [[2, 2]] and line["batches"] == 2


def test_numbering_defects_and_a_file_stored_twice(
    client: TestClient, scanner: Scanner, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    intake = scanner.intake()
    item = scanner.item(intake, 3)
    first = scanner.page(item, 1)
    again = scanner.page(item, 1, plain=first.plain)  # the same scan ingested twice under a new page id
    third = scanner.page(item, 3)  # and page 2 never numbered
    upload(client, scanner, [first, again, third])
    assert submit(client, scanner.sign(scanner.manifest(1, [intake], [item], [first, again, third]))).status_code == 201
    report = report_json(client)
    (line,) = report["intakes"][0]["items"]
    assert (line["received_pages"], line["missing"], line["duplicate_page_numbers"], line["skipped_page_numbers"]) == (3, 0, 1, 1)
    assert report["totals"]["duplicate_pages"] == 1
    _, text = run_cli(["report", "--home", str(home)], capsys)
    assert "重码 1 处" in text and "跳码 1 处" in text and "重复页面 1 页" in text
    assert "齐全" not in text


def test_a_later_batch_updates_the_declared_pages(client: TestClient, scanner: Scanner) -> None:
    intake = scanner.intake()
    item = scanner.item(intake, 3)
    pages = [scanner.page(item, 1), scanner.page(item, 2)]
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(scanner.manifest(1, [intake], [item], pages))).status_code == 201
    corrected = {**item, "declared_pages": 2}  # the clerk corrected the count at the counter
    assert submit(client, scanner.sign(scanner.manifest(2, [intake], [corrected], []))).status_code == 201
    (line,) = report_json(client)["intakes"][0]["items"]
    assert (line["declared_pages"], line["received_pages"], line["missing"]) == (2, 2, 0)


def test_pages_without_an_item_are_counted_as_unattached(client: TestClient, scanner: Scanner) -> None:
    loose = scanner.page(None, None)
    upload(client, scanner, [loose])
    assert submit(client, scanner.sign(scanner.manifest(1, [], [], [loose]))).status_code == 201
    assert report_json(client)["totals"]["unattached_pages"] == 1


def test_sequence_gaps_as_ranges() -> None:
    assert sequence_gaps([]) == ()
    assert sequence_gaps([1, 2, 3]) == ()
    assert sequence_gaps([1, 2, 4, 8]) == ((3, 3), (5, 7))
    assert sequence_gaps([3]) == ((1, 2),)
    assert sequence_gaps([0, 2]) == ((1, 1),)


def test_a_page_replaced_by_a_rescan_is_no_longer_counted(client: TestClient, scanner: Scanner) -> None:
    """The appliance re-sends the replaced page without a number and the rescan under it."""
    import dataclasses

    intake = scanner.intake()
    item = scanner.item(intake, 3)
    pages = [scanner.page(item, n) for n in (1, 2, 3)]
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(scanner.manifest(1, [intake], [item], pages))).status_code == 201

    replaced = dataclasses.replace(pages[1], record={**pages[1].record, "page_no": None, "role": "replaced"})
    rescan = scanner.page(item, 2)
    rescan.record.update(role="page", replaces=replaced.record["page_id"])
    upload(client, scanner, [rescan])
    assert submit(client, scanner.sign(scanner.manifest(2, [intake], [item], [replaced, rescan]))).status_code == 201

    line = report_json(client)["intakes"][0]["items"][0]
    assert (line["declared_pages"], line["received_pages"], line["missing"], line["extra"]) == (3, 3, 0, 0)
    totals = report_json(client)["totals"]
    assert totals["duplicate_page_numbers"] == 0 and totals["skipped_page_numbers"] == 0


def test_blank_backs_are_numbered_but_never_counted_and_discarded_loose_pages_are_counted(client: TestClient, scanner: Scanner) -> None:
    """Two single-sided sheets through a duplex scanner: 4 numbered images, 2 pages declared,
    no 多扫 (issue 8 point 4); a loose page discarded at the scanning point is counted as such."""
    intake = scanner.intake()
    item = scanner.item(intake, 2)
    blank = {"code": "blank", "severity": "warning", "message": "疑似空白页（几乎没有文字或图形），请确认是否应当保留"}
    pages = [scanner.page(item, n) for n in (1, 2, 3, 4)]
    for back in (pages[1], pages[3]):
        back.record.update(side="verso", findings=[blank])
    discarded = scanner.page(None, None)
    discarded.record.update(role="discarded", discard_reason="误扫的空白纸")
    waiting = scanner.page(None, None)
    upload(client, scanner, [*pages, discarded, waiting])
    doc = scanner.manifest(1, [intake], [item], [*pages, discarded, waiting])
    assert submit(client, scanner.sign(doc)).status_code == 201

    report = report_json(client)
    (line,) = report["intakes"][0]["items"]
    assert (line["declared_pages"], line["received_pages"], line["blank_backs"], line["missing"], line["extra"]) == (2, 2, 2, 0, 0)
    assert (line["duplicate_page_numbers"], line["skipped_page_numbers"]) == (0, 0)
    assert (report["totals"]["unattached_pages"], report["totals"]["discarded_unassigned_pages"]) == (1, 1)
    from juanzong.central.reconcile.report import build_report, render_text

    text = render_text(build_report(client.app.dependencies["central"].dependency().repo))
    assert "空白背面 2 页（不计页数）" in text and "扫描点作废的未归属页面 1 页" in text and "齐全" in text
