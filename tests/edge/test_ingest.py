"""Ingest end to end inside one process: real images, real SQLite, real encryption."""

from __future__ import annotations

import json

import pytest
from edge_kit import cover_for, register

from juanzong.edge.appliance import Appliance
from juanzong.edge.repo import integrity_ok
from juanzong.edge.status import status
from juanzong.edge.tooling.pages import blank_backside, invoice_page, jpeg_bytes, text_page, waybill_page
from juanzong.edge.tooling.scanner import SimulatedScanner
from juanzong.shared.crypto import open_blob_central, sha256_hex


def pages_of(db, item_id):
    return db.execute(
        "SELECT page_no, source_name, source_sha256 FROM pages WHERE item_id = ? AND role = 'page' ORDER BY page_no", [item_id]
    ).fetchall()


def test_cover_sheets_route_pages_and_foreign_barcodes_do_not(settings, db):
    intake = register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write(cover_for(intake, 0))
    scanner.write_many([text_page(1), text_page(2)])
    scanner.write(cover_for(intake, 1))
    scanner.write_many([waybill_page(3), invoice_page(4), text_page(5)])

    outcomes = Appliance(settings).ingest_once()

    assert [o.status for o in outcomes] == ["stored"] * 7
    first, second = intake.items
    assert [r[0] for r in pages_of(db, first.item_id)] == [1, 2]
    # the waybill's Code128 and the invoice QR are not ours: no split, no unknown item
    assert [r[1] for r in pages_of(db, second.item_id)] == ["scan_0005.jpg", "scan_0006.jpg", "scan_0007.jpg"]
    assert db.execute("SELECT COUNT(*) FROM pages WHERE role = 'cover'").fetchone()[0] == 2
    assert list(settings.hot_folder.glob("*.jpg")) == []
    assert list(settings.spool_dir.iterdir()) == []


def test_without_cover_pages_go_to_the_active_item_or_wait_unassigned(settings, db):
    from juanzong.edge.repo import state, write_tx
    from juanzong.edge.repo.state import StateKey

    intake = register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write(text_page(1))
    Appliance(settings).ingest_once()
    assert status(db, settings)["unassigned"] == 1

    with write_tx(db):
        state.put(db, StateKey.ACTIVE_ITEM, intake.items[1].item_id)
    scanner.write_many([text_page(2), text_page(3)])
    Appliance(settings).ingest_once()
    assert [r[0] for r in pages_of(db, intake.items[1].item_id)] == [1, 2]
    assert status(db, settings)["unassigned"] == 1  # the early page is kept, never dropped


def test_stored_page_decrypts_at_central_to_the_scanned_bytes(settings, db, central_keys):
    intake = register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write(cover_for(intake, 0))
    path = scanner.write(text_page(7))
    original = path.read_bytes()
    Appliance(settings).ingest_once()

    row = db.execute("SELECT p.id, b.sealed_central, b.kind FROM pages p JOIN blobs b ON b.id = p.blob_id WHERE p.role = 'page'").fetchone()
    from juanzong.edge.blobstore import BlobStore

    data = BlobStore(settings.blob_dir).get(row[0])
    assert original not in data  # ciphertext at rest
    plain = open_blob_central(data, row[1], private_key=central_keys.hpke, appliance_id=settings.appliance_id, blob_id=row[0], kind=row[2])
    assert sha256_hex(plain) == sha256_hex(original)


@pytest.mark.parametrize(
    "name, content, code",
    [
        ("scan_0501.jpg", b"", "FILE_EMPTY"),
        ("scan_0502.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 40, "FILE_TRUNCATED"),
        ("scan_0503.jpg", "这不是图片".encode(), "FILE_TYPE_NOT_ACCEPTED"),
        ("scan_0504.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30 + b"IEND\xaeB`\x82", "FILE_UNREADABLE"),
    ],
)
def test_bad_files_are_quarantined_with_their_reason_and_ingest_goes_on(settings, db, name, content, code):
    intake = register(db, settings)
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write(cover_for(intake, 0))
    (settings.hot_folder / name).write_bytes(content)
    scanner.write(text_page(9))

    outcomes = Appliance(settings).ingest_once(settle=0.05)

    by_name = {o.source_name: o for o in outcomes}
    assert by_name[name].status == "quarantined" and by_name[name].code == code
    st = status(db, settings)
    assert st["quarantine"]["count"] == 1
    assert st["quarantine"]["files"][0]["code"] == code
    assert "已隔离" in st["quarantine"]["files"][0]["reason"]
    assert sum(i["pages"] for i in st["items"]) == 1  # the good page after it was stored
    # the bad file is kept, encrypted, not deleted
    qid = st["quarantine"]["files"][0]["id"]
    from juanzong.edge.blobstore import BlobStore

    assert BlobStore(settings.blob_dir).exists(qid)


def test_pixel_bomb_is_refused_before_decoding(settings, db):
    from PIL import Image

    register(db, settings)
    Image.new("L", (9000, 9000), 255).save(settings.hot_folder / "scan_0001.png")  # 81 Mpx > 40 Mpx cap
    outcomes = Appliance(settings).ingest_once(settle=0.05)
    assert outcomes[0].code == "FILE_TOO_LARGE"


def test_ingest_once_drains_temporary_names_and_foreign_types_to_quarantine(settings, db):
    """`ingest --once` finishes every file present at its start: a temporary name never
    renamed and a type the profile does not take wait out the grace, then are quarantined
    with their reason; hidden files are left alone; nothing is left unfinished."""
    register(db, settings)
    (settings.hot_folder / ".scan_0001.jpg").write_bytes(b"partial")
    (settings.hot_folder / "scan_0002.jpg.tmp").write_bytes(b"partial")
    (settings.hot_folder / "~$scan.jpg").write_bytes(b"partial")
    (settings.hot_folder / "scan_0003.docx").write_bytes(b"PK\x03\x04 a document")
    drained = Appliance(settings).ingest_once(settle=0.05)
    assert {o.source_name: o.code for o in drained} == {
        "scan_0002.jpg.tmp": "FILE_NEVER_COMPLETE",
        "~$scan.jpg": "FILE_NEVER_COMPLETE",
        "scan_0003.docx": "FILE_TYPE_NOT_ACCEPTED",
    }
    assert drained.unfinished == ()
    assert [p.name for p in settings.hot_folder.iterdir() if p.is_file()] == [".scan_0001.jpg"]
    reasons = {q["source_name"]: q["reason"] for q in status(db, settings)["quarantine"]["files"]}
    assert "ZIP/Office 文档" in reasons["scan_0003.docx"] and "一直没有写完" in reasons["scan_0002.jpg.tmp"]


def test_ingest_once_waits_for_a_file_still_settling_then_stores_it(settings, db):
    import threading

    register(db, settings)
    data = jpeg_bytes(text_page(4))
    path = settings.hot_folder / "scan_0001.jpg"
    path.write_bytes(data[: len(data) // 2])

    def finish() -> None:  # the scanner completes the file while the drain is waiting
        with open(path, "ab") as f:
            f.write(data[len(data) // 2 :])

    timer = threading.Timer(0.8, finish)
    timer.start()
    drained = Appliance(settings).ingest_once(settle=0.05)
    timer.join()
    assert [(o.source_name, o.status) for o in drained] == [("scan_0001.jpg", "stored")]
    assert drained.unfinished == ()


def test_ingest_once_lists_a_file_still_being_written_and_exits_non_zero(settings, db):
    """A file that keeps changing past settle + grace is not taken half-written: it is listed."""
    import subprocess
    import sys
    import threading

    path = settings.hot_folder / "scan_0001.jpg"
    stop = threading.Event()

    def trickle() -> None:
        with open(path, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0")
            while not stop.wait(0.1):
                f.write(b"\x00" * 64)
                f.flush()

    writer = threading.Thread(target=trickle)
    writer.start()
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-P",
                "-m",
                "juanzong.shared.cli",
                "edge",
                "ingest",
                "--once",
                "--home",
                str(settings.home),
                "--settle",
                "0.05",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop.set()
        writer.join()
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout)["unfinished"] == ["scan_0001.jpg"]


def test_every_operation_is_in_an_intact_audit_chain(settings, db):
    from juanzong.edge import audit

    intake = register(db, settings)
    SimulatedScanner(settings.hot_folder).write_many([cover_for(intake, 0), text_page(1)])
    Appliance(settings).ingest_once()
    actions = [r.action for r in audit.records(db)]
    assert actions[:2] == ["key_generate", "intake"] and actions.count("scan") == 2
    assert audit.verify_chain(db) is None
    assert integrity_ok(db)
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE audit SET actor = 'x' WHERE seq = 2")


def test_blank_backside_is_flagged_and_kept(settings, db):
    intake = register(db, settings)
    SimulatedScanner(settings.hot_folder).write_many([cover_for(intake, 0), text_page(1), blank_backside(2)])
    Appliance(settings).ingest_once()
    rows = db.execute("SELECT page_no, findings FROM pages WHERE role = 'page' ORDER BY page_no").fetchall()
    assert [r[0] for r in rows] == [1, 2]
    assert "blank" not in rows[0][1] and any(f["code"] == "blank" for f in json.loads(rows[1][1]))


def test_a_quarantined_file_can_be_put_back_through_ingest(settings, db):
    """The shelf keeps the file encrypted; retry writes the scanner's exact bytes back into the
    hot folder (a key use, audited), where the watcher takes it again."""
    import subprocess
    import sys

    from juanzong.edge import audit, quarantine

    register(db, settings)
    bad = b"\x00" + text_page(3).tobytes()[:5000]  # not an image format we know
    (settings.hot_folder / "scan_0500.jpg").write_bytes(bad)
    Appliance(settings).ingest_once(settle=0.05)
    (shelved,) = quarantine.shelf(db)
    assert shelved["code"] == "FILE_TYPE_NOT_ACCEPTED" and shelved["encrypted"]

    out = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "juanzong.shared.cli",
            "edge",
            "quarantine",
            "--home",
            str(settings.home),
            "--retry",
            shelved["id"],
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    written = json.loads(out.stdout)["written"]
    assert open(written, "rb").read() == bad
    assert any(r.action == "quarantine_retry" and r.detail["key_use"] == "kek" for r in audit.records(db))
    outcomes = Appliance(settings).ingest_once(settle=0.05)
    assert [o.status for o in outcomes] == ["quarantined"]  # still bad: shelved again, never lost


def test_a_jpeg_cut_in_the_middle_and_closed_again_is_quarantined(settings, db):
    """libjpeg would decode it with grey fill; the page must not be stored as if whole."""
    from juanzong.edge.tooling.pages import jpeg_bytes

    register(db, settings)
    data = jpeg_bytes(text_page(4))
    (settings.hot_folder / "scan_0601.jpg").write_bytes(data[: len(data) // 2] + b"\xff\xd9")
    (settings.hot_folder / "scan_0602.jpg").write_bytes(data)
    outcomes = {o.source_name: o for o in Appliance(settings).ingest_once(settle=0.05)}
    assert outcomes["scan_0601.jpg"].code == "FILE_TRUNCATED"
    assert outcomes["scan_0602.jpg"].status == "stored"
