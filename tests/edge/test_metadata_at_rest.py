"""No plaintext metadata rests on the appliance: after intake, printing, scanning and sealing,
no file under the home holds a known case number or name, in any encoding a program would
use; the database opens only with its key, which lives in keys/, never in data/; an older
plaintext database is encrypted in place on first open."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from juanzong.edge import batches, repo
from juanzong.edge.appliance import Appliance
from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet
from juanzong.edge.keys import load_keys
from juanzong.edge.repo import cipher as dbcipher
from juanzong.edge.tooling.pages import text_page
from juanzong.edge.tooling.scanner import SimulatedScanner


def open_db(path: Path):
    repo.migrate(path)
    return repo.connect(path)


CASE = "（2026）京0102民初7788号"
NAME = "欧阳娜娜"


def _needles() -> list[bytes]:
    texts = (CASE, NAME, "京0102民初7788")
    return [t.encode(e) for t in texts for e in ("utf-8", "gb18030", "utf-16-le", "utf-16-be")]


def _files_with_plaintext(home: Path) -> list[str]:
    needles = _needles()
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", "-m", "juanzong.shared.cli", *args], capture_output=True, text=True, timeout=120)


def test_no_file_under_the_home_holds_a_case_number_or_a_name(edge_home, settings):
    added = _cli(
        "edge",
        "intake",
        "add",
        "--home",
        str(edge_home),
        "--case",
        CASE,
        "--submitter",
        NAME,
        "--item",
        "起诉状:1",
        "--received",
        "2026-03-02T10:00",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    intake = json.loads(added.stdout)
    item = intake["items"][0]
    scanner = SimulatedScanner(settings.hot_folder)
    scanner.write(
        render_cover_sheet(
            CoverSheetInfo(
                item_id=item["item_id"],
                intake_id=intake["intake_id"],
                case_number=intake["case_number"],
                item_name=item["name"],
                declared_pages=1,
                item_seq=1,
                item_count=1,
            )
        )
    )
    scanner.write(text_page(1))
    Appliance(settings).ingest_once(settle=0.05)
    db = open_db(settings.db_path)
    assert batches.seal(db, settings.appliance_id, load_keys(settings.keys_dir))
    # the data is really there, for whoever holds the key ...
    assert db.execute("SELECT submitter FROM intakes").fetchone()[0] == NAME
    assert NAME in db.execute("SELECT manifest FROM batches").fetchone()[0]
    db.close()

    # ... and nowhere readable without it: database, WAL, receipts, blobs, config, keys
    assert (settings.home / "printer").exists()  # the receipt file printer wrote there too
    assert _files_with_plaintext(settings.home) == []
    key_file = settings.keys_dir / dbcipher.DB_KEY_FILE
    assert key_file.exists() and not any(p.name == dbcipher.DB_KEY_FILE for p in settings.data_dir.rglob("*"))
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(settings.db_path).execute("SELECT * FROM intakes").fetchall()


def test_a_copied_data_folder_does_not_open_without_the_keys_folder(edge_home, settings, tmp_path):
    open_db(settings.db_path).close()
    stolen = tmp_path / "stolen"
    shutil.copytree(settings.data_dir, stolen / "data")
    (stolen / "keys").mkdir()
    (stolen / "keys" / dbcipher.DB_KEY_FILE).write_bytes(bytes(32))  # a guess
    dbcipher.register(stolen / "data" / "edge.db", stolen / "keys")
    from juanzong.shared.errors import AppError

    with pytest.raises(AppError):
        open_db(stolen / "data" / "edge.db")


def test_a_plaintext_database_from_before_is_encrypted_in_place(edge_home, settings):
    db = open_db(settings.db_path)
    db.execute("INSERT INTO settings_state(key, value) VALUES ('probe', ?)", [CASE])
    db.close()
    # rebuild the database as an older appliance left it: plaintext SQLite, same schema and rows
    plain = settings.db_path.with_name("plain.db")
    from sqlcipher3 import dbapi2

    conn = dbapi2.connect(str(settings.db_path), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{dbcipher.database_key(settings.db_path).hex()}'\"")
    conn.execute("ATTACH DATABASE ? AS plain KEY ''", [str(plain)])
    conn.execute("SELECT sqlcipher_export('plain')")
    conn.close()
    plain.replace(settings.db_path)
    for suffix in ("-wal", "-shm"):
        Path(str(settings.db_path) + suffix).unlink(missing_ok=True)
    assert CASE.encode() in settings.db_path.read_bytes()

    db = open_db(settings.db_path)  # converts, then opens
    assert db.execute("SELECT value FROM settings_state WHERE key = 'probe'").fetchone()[0] == CASE
    db.close()
    assert _files_with_plaintext(settings.home) == []
