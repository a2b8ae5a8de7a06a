"""Items become PDFs on the appliance: completion, rebuild on change, the EDF queue,
notices, status — with real ingest, real SQLite and real encryption. The OCR engine
here is a stand-in that reports the printed text (reading pages with the model is
test_ocr.py's job and the benchmark's); one slow test runs the real worker process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pikepdf
import pytest
from edge_kit import cover_for, register

from juanzong.edge.appliance import Appliance
from juanzong.edge.documents import builder
from juanzong.edge.documents.textlayer import PageText, TextLine
from juanzong.edge.documents.worker import OcrWorker, context_for
from juanzong.edge.items import arm_replacement, close_item, reopen_item
from juanzong.edge.repo import documents as store
from juanzong.edge.repo import write_tx
from juanzong.edge.status import status
from juanzong.edge.tooling.pages import court_page
from juanzong.edge.tooling.scanner import SimulatedScanner


class PrintedText:
    """Stands in for rapidocr: every page says what `court_page(seed)` printed."""

    def __init__(self, settings) -> None:
        self.calls = 0
        self.rotations: list[int] = []

    def read_bytes(self, data: bytes, rotation: int = 0) -> PageText:
        self.calls += 1
        self.rotations.append(rotation)
        return PageText(2480, 3508, (TextLine("本院认为当事人对自己提出的主张有责任提供证据", 250, 500, 2200, 546),))


def worker_for(settings, engines: list | None = None) -> OcrWorker:
    def factory(ocr_settings):
        engine = PrintedText(ocr_settings)
        (engines if engines is not None else []).append(engine)
        return engine

    return OcrWorker(context_for(settings), engine_factory=factory)


def scan_item(scanner, intake, n: int, seeds) -> None:
    scanner.write(cover_for(intake, n))
    scanner.write_many([court_page(s).image for s in seeds])


def drain(worker: OcrWorker, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not worker.round():
            return


def test_an_item_completes_at_the_next_cover_sheet_and_becomes_searchable(settings, db):
    intake = register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scan_item(scanner, intake, 0, (1, 2))
    scanner.write(cover_for(intake, 1))
    scanner.write(court_page(3).image)
    Appliance(settings).ingest_once()
    first, second = intake.items
    ctx = context_for(settings)

    assert builder.build_due(ctx) and store.current_document(db, second.item_id) is None  # item 2 still open
    doc = store.current_document(db, first.item_id)
    assert not doc.searchable and len(doc.page_ids) == 2 and doc.file_name.startswith("正卷_")
    st = status(db, settings)["documents"]
    assert st["ocr_queue"]["length"] == 1 and st["ocr_queue"]["oldest_deadline"].endswith("+00:00")

    drain(worker_for(settings))
    searchable = store.current_document(db, first.item_id)
    assert searchable.searchable and searchable.version == doc.version and searchable.page_ids == doc.page_ids
    _, pdf = builder.read_current(ctx, first.item_id, actor="test")
    assert len(pikepdf.open(io.BytesIO(pdf)).pages) == 2
    assert store.queue_summary(db)["length"] == 0

    # closing item 2 completes it; once searchable, both closed items get a filing notice
    close_item(db, settings.appliance_id, first.item_id)
    close_item(db, settings.appliance_id, second.item_id)
    drain(worker_for(settings))
    notices = db.execute("SELECT item_id, kind, pages FROM notices ORDER BY created_at").fetchall()
    assert sorted(notices) == sorted([(first.item_id, "filed", 2), (second.item_id, "filed", 1)])


def test_a_replaced_page_rebuilds_the_document_and_drops_the_old_ocr_job(settings, db):
    intake = register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scan_item(scanner, intake, 0, (1, 2, 3))
    Appliance(settings).ingest_once()
    first = intake.items[0]
    close_item(db, settings.appliance_id, first.item_id)
    ctx = context_for(settings)
    builder.build_due(ctx)
    v1 = store.current_document(db, first.item_id)

    page2 = db.execute("SELECT id FROM pages WHERE item_id = ? AND page_no = 2", [first.item_id]).fetchone()[0]
    reopen_item(db, settings.appliance_id, first.item_id, "重扫第 2 页")  # a closed item is locked (issue 8)
    arm_replacement(db, settings.appliance_id, page2)
    scanner.write(court_page(9).image)
    Appliance(settings).ingest_once()
    close_item(db, settings.appliance_id, first.item_id)  # closed again once the page is rescanned
    builder.build_due(ctx)

    v2 = store.current_document(db, first.item_id)
    assert v2.version == v1.version + 1 and v2.page_ids[0] == v1.page_ids[0] and v2.page_ids[1] != page2
    assert v2.page_ids[2] == v1.page_ids[2]
    assert [r[0] for r in db.execute("SELECT document_id FROM ocr_queue").fetchall()] == [v2.document_id]
    # nothing changed since: no third version
    assert builder.build_due(ctx) == [] and store.current_document(db, first.item_id).version == v2.version


def test_rotate_assign_discard_and_reopen_at_the_qc_station_rebuild_only_on_a_change(settings, db):
    from juanzong.edge import items

    intake = register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write(court_page(7).image)  # before any cover sheet: an unassigned page
    scan_item(scanner, intake, 0, (1, 2, 3))
    Appliance(settings).ingest_once()
    first = intake.items[0].item_id
    close_item(db, settings.appliance_id, first)
    ctx = context_for(settings)
    builder.build_due(ctx)
    v1 = store.current_document(db, first)
    p1, p2, p3 = v1.page_ids

    items.rotate_page(db, settings.appliance_id, p2, 90)  # the QC station's 旋转
    builder.build_due(ctx)
    v2 = store.current_document(db, first)
    assert v2.version == v1.version + 1 and v2.page_ids == v1.page_ids
    _, pdf = builder.read_current(ctx, first, actor="test")
    doc = pikepdf.open(io.BytesIO(pdf))
    assert [int(page.obj.get("/Rotate", 0)) for page in doc.pages] == [0, 90, 0]
    masters = builder.masters(ctx, store.item_pages(db, first))
    embedded = [next(iter(page.get_images().values())).read_raw_bytes() for page in doc.pages]
    assert embedded == [m.data for m in masters]  # the same JPEG bytes: turned by metadata, never re-encoded
    engines: list = []
    drain(worker_for(settings, engines))
    assert engines[0].rotations == [0, 90, 0]  # OCR reads the page as shown
    _, pdf = builder.read_current(ctx, first, actor="test")
    assert [int(p.obj.get("/Rotate", 0)) for p in pikepdf.open(io.BytesIO(pdf)).pages] == [0, 90, 0]

    items.discard_page(db, settings.appliance_id, p3, "重复扫描")
    builder.build_due(ctx)
    v3 = store.current_document(db, first)
    assert v3.version == v2.version + 1 and v3.page_ids == (p1, p2)

    items.reopen_item(db, settings.appliance_id, first, "补充材料")
    assert builder.build_due(ctx) == []  # reopened, nothing changed yet: the same document
    loose = db.execute("SELECT id FROM pages WHERE item_id IS NULL AND role = 'page'").fetchone()[0]
    items.assign_page(db, settings.appliance_id, loose, first, 1)
    assert builder.build_due(ctx) == []  # open again, and no next cover sheet: not complete, not built yet
    close_item(db, settings.appliance_id, first)
    builder.build_due(ctx)  # closed: rebuilt with the assigned page first
    v4 = store.current_document(db, first)
    assert v4.version == v3.version + 1 and v4.page_ids == (loose, p1, p2) and not v4.searchable
    assert [r[0] for r in db.execute("SELECT document_id FROM ocr_queue").fetchall()] == [v4.document_id]


def test_the_queue_is_earliest_deadline_first_urgent_before_all(settings, db):
    from edge_kit import TZ

    from juanzong.edge import intake as intake_mod

    def item_with(received: datetime, urgent: bool):
        reg = intake_mod.register(
            db,
            settings,
            case_text="（2026）京0102民初1234号",
            submitter="张三",
            items=[intake_mod.ItemSpec("起诉状", 1)],
            received_at=received,
            urgent=urgent,
        )
        return reg, reg.items[0].item_id

    late = item_with(datetime(2026, 3, 4, 9, 0, tzinfo=TZ), False)
    early = item_with(datetime(2026, 3, 2, 9, 0, tzinfo=TZ), False)
    urgent = item_with(datetime(2026, 3, 5, 9, 0, tzinfo=TZ), True)
    now = store.utc_iso()
    with write_tx(db):
        for _reg, item_id in (late, early, urgent):
            store.enqueue(db, f"F-{item_id}", store.item_row(db, item_id), now)
    order = []
    while (job := store.next_job(db, now)) is not None:
        order.append(job.item_id)
        with write_tx(db):
            store.dequeue(db, job.document_id)
    assert order == [urgent[1], early[1], late[1]]


def test_an_idle_item_completes_after_the_profile_timeout(settings, db):
    intake = register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scan_item(scanner, intake, 0, (1,))
    Appliance(settings).ingest_once()
    ctx = context_for(settings)
    assert builder.build_due(ctx, now=datetime.now(UTC)) == []
    later = datetime.now(UTC) + timedelta(seconds=ctx.idle_seconds + 1)
    assert len(builder.build_due(ctx, now=later)) == 1


@pytest.mark.slow
def test_the_real_worker_runs_niced_and_ingest_goes_on_beside_it(settings, db):
    """The worker process reads pages with the real model while ingest stores a batch of scans."""
    intake = register(db, settings, items=(("起诉状", 3), ("证据材料", 8)))
    scanner = SimulatedScanner(settings.hot_folder)
    scan_item(scanner, intake, 0, (1, 2, 3))
    Appliance(settings).ingest_once()
    close_item(db, settings.appliance_id, intake.items[0].item_id)
    worker = subprocess.Popen(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", "edge", "documents-worker", "--home", str(settings.home)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = time.monotonic() + 600  # a loaded 2-core machine: the niced worker waits its turn
        while store.queue_summary(db)["length"] == 0 and time.monotonic() < end:
            time.sleep(0.2)  # the image-only PDF is built and queued
        assert store.queue_summary(db)["length"] == 1
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) >= 10
        scan_item(scanner, intake, 1, range(10, 18))
        appliance = Appliance(settings)  # as `edge run` takes files (its start-up sweep ran before the worker)
        outcomes = [appliance.take(path) for path in sorted(settings.hot_folder.glob("scan_*.jpg"))]
        assert [o.status for o in outcomes] == ["stored"] * 9
        assert worker.poll() is None  # still there, reading pages
        while store.queue_summary(db)["length"] and time.monotonic() < end:
            time.sleep(0.5)
        doc = store.current_document(db, intake.items[0].item_id)
        assert doc.searchable
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.mark.slow
def test_bench_ocr_runs_and_ends_with_its_figures():
    out = (
        subprocess.run(
            [sys.executable, "-P", "-m", "juanzong.shared.cli", "bench", "ocr", "--pages", "1", "--no-baseline"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()
    )
    assert any(line.startswith("extraction pdftotext") for line in out)
    import re

    assert re.fullmatch(r"ocr: \d+\.\d\d s/page, \d+\.\d\d % characters, RSS \d+ MB", out[-1]), out[-1]
