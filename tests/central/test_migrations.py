"""Alembic owns central's schema: the revisions build exactly the model in central/db.py,
an old database made before migrations is adopted with its rows, and several workers
starting at once migrate it once."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text

from juanzong.central import db


def _diffs(url: str) -> list:
    engine = db.open_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    finally:
        engine.dispose()


def test_the_revisions_build_exactly_the_model(database_url: str) -> None:
    """A table or column added to central/db.py without a revision (or the other way round) fails here."""
    assert _diffs(database_url) == []
    engine = db.make_engine(database_url)
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def test_a_database_made_before_migrations_is_adopted_with_its_rows(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, db.BASELINE)  # the tables central created before Alembic …
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))  # … and no version table
        conn.execute(insert(db.appliances).values(appliance_id="A1", signing_public="k", profile="", name="旧设备", enrolled_at="t"))
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        assert conn.execute(select(db.appliances.c.name)).scalar() == "旧设备"
    assert "ix_pages_blob_sha256" in {i["name"] for i in inspect(engine).get_indexes("pages")}
    engine.dispose()


def test_workers_starting_together_migrate_once(database_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            db.open_engine(database_url).dispose()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = db.make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def test_central_migrate_reports_the_revision(home: Path, capsys) -> None:
    import json

    from central_kit import run_cli

    rc, out = run_cli(["migrate", "--home", str(home), "--json"], capsys)
    result = json.loads(out)
    assert rc == 0 and result["from"] == result["to"] == result["head"] == db.head_revision()
