"""The appliance's data layer: all SQL in edge/repo, one connection per thread."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import UTC
from pathlib import Path

import pytest

from juanzong.edge import repo
from juanzong.edge.repo import state
from juanzong.edge.repo.state import StateKey

EDGE = Path(__file__).resolve().parents[2] / "edge"
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b|\.execute\(|PRAGMA\s")


def test_no_sql_outside_the_data_layer():
    offenders = []
    for path in sorted(EDGE.rglob("*.py")):
        rel = path.relative_to(EDGE).as_posix()
        if rel.startswith("repo/") or rel == "db.py":
            continue
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if SQL.search(line):
                offenders.append(f"edge/{rel}:{n}: {line.strip()}")
    assert offenders == []


def test_a_connection_stays_in_the_thread_that_opened_it(settings):
    db = repo.connect(settings)
    errors: list[BaseException] = []

    def use() -> None:
        try:
            state.get(db, StateKey.ACTIVE_ITEM)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    db.close()
    from sqlcipher3 import dbapi2  # the appliance's database driver (SQLCipher, edge/repo/cipher.py)

    assert len(errors) == 1 and isinstance(errors[0], (sqlite3.ProgrammingError, dbapi2.ProgrammingError))


def test_per_thread_gives_each_thread_its_own_connection(settings):
    connections = repo.PerThread(settings)
    seen: dict[str, object] = {}

    def use(name: str) -> None:
        db = connections.get()
        assert connections.get() is db  # the same one on every call in this thread
        with repo.write_tx(db):
            state.put(db, StateKey.ACTIVE_ITEM, name)
        seen[name] = db
        connections.close()

    threads = [threading.Thread(target=use, args=(f"t{k}",)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(db) for db in seen.values()}) == 3
    assert state.get(connections.get(), StateKey.ACTIVE_ITEM) in seen


def test_migrate_is_idempotent_and_connect_does_no_schema_work(tmp_path):
    path = tmp_path / "edge.db"
    repo.cipher.register(path, tmp_path / "keys")  # encrypted at rest: its key lives in a keys folder
    bare = repo.connect(path)
    assert "pages" not in bare.table_names()
    bare.close()
    repo.migrate(path)
    repo.migrate(path)
    db = repo.connect(path)
    assert {"intakes", "items", "pages", "blobs", "batches", "print_jobs", "quarantine", "audit"} <= set(db.table_names())
    assert repo.integrity_ok(db) and repo.quick_check(db)


def test_write_tx_rolls_back_on_error(settings, db):
    with pytest.raises(RuntimeError), repo.write_tx(db):
        state.put(db, StateKey.ACTIVE_ITEM, "X")
        raise RuntimeError("boom")
    assert state.get(db, StateKey.ACTIVE_ITEM) is None


def test_audit_records_take_their_time_from_the_clock(db):
    from datetime import datetime

    from juanzong.edge import audit
    from juanzong.shared import clock
    from juanzong.shared.audit import Action

    with clock.use(clock.Fixed(datetime(2026, 3, 2, 3, 59, 59, 123000, tzinfo=UTC))):
        rec = audit.record(db, place="A-TEST", actor="operator", action=Action.ACTIVE_ITEM, target="-")
    assert rec.at == "2026-03-02T03:59:59.123+00:00"


def test_a_later_batch_never_overtakes_one_waiting_out_its_back_off(db):
    from juanzong.edge.repo import batches
    from juanzong.edge.repo.batches import BatchState

    with repo.write_tx(db):
        for seq, bid in ((1, "B1"), (2, "B2")):
            batches.insert_sealed(
                db, batch_id=bid, seq=seq, manifest="{}", signature="s", manifest_sha256="h", now="2026-03-02T10:00:00+00:00"
            )
        batches.mark_failed(db, "B1", rejected=False, attempts=1, error="SYNC_NETWORK_DOWN", next_try_at="2026-03-02T10:00:05+00:00")
    assert batches.due(db, "2026-03-02T10:00:01+00:00") == []
    assert [b["id"] for b in batches.due(db, "2026-03-02T10:00:06+00:00")] == ["B1", "B2"]
    with repo.write_tx(db):
        batches.mark_failed(db, "B1", rejected=True, attempts=2, error="MANIFEST_CONFLICT", next_try_at="")
    assert [b["id"] for b in batches.due(db, "2026-03-02T10:00:01+00:00")] == ["B2"]
    assert BatchState.REJECTED == "rejected"
