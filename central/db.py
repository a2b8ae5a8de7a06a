"""Central's schema (SQLAlchemy Core), the engine for a database URL, migrations and locks.

The database is a URL in central settings: SQLite (`sqlite:///…`, the embedded
default for one court) or PostgreSQL (`postgresql+psycopg://…`, a province).

SQLite: WAL, `synchronous=FULL` (a commit is on disk before a receipt is
signed), and `BEGIN IMMEDIATE` for writers (`writer`), so every write
transaction — from any worker process — is serialised on the database lock.
PostgreSQL: READ COMMITTED, and the few read-then-write steps that must not
interleave across workers take a lock first (`lock`: a transaction-scoped
advisory lock, or a row lock with `SELECT … FOR UPDATE`). psycopg 3 with
prepared statements off, so a PgBouncer in transaction mode is safe.

The schema is owned by Alembic (`central/migrations/`): `upgrade` brings a
database to the newest revision under the migration lock, so several workers
starting at once migrate it exactly once. The tables below are the model the
migrations must produce; a test compares them on both databases.

Every intake, item and page row keeps the manifest's own record (`record`,
canonical JSON) beside the columns the report needs, and every batch keeps its
signed manifest bytes: a later batch may update a row, but no version is lost.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    text,
)

metadata = MetaData()
logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise in a server log
WRITE = "juanzong_write"  # execution option marking a write transaction
# 64-bit integers on PostgreSQL (a manifest's numbers may use the whole range
# the receive checks allow); SQLite's INTEGER already is 64-bit
BigInt = BigInteger().with_variant(Integer(), "sqlite")


class Lock(IntEnum):
    """Advisory lock keys (PostgreSQL); on SQLite the write transaction already excludes everyone."""

    AUDIT = 0x4A5A_0001  # the audit chain's head: read the last row, insert the next
    MIGRATE = 0x4A5A_0002  # schema upgrades at start-up


appliances = Table(
    "appliances",
    metadata,
    Column("appliance_id", String(16), primary_key=True),
    Column("signing_public", String(64), nullable=False),
    Column("profile", Text, nullable=False, default=""),
    Column("name", Text, nullable=False, default=""),
    Column("enrolled_at", String(40), nullable=False),
    Column("revoked_at", String(40)),  # `central revoke`: TLS and manifests refused from then on
    Column("revoked_reason", Text),
    Column("cert_serials", Text, nullable=False, server_default=""),  # serials issued to it (hex, space-separated)
)

batches = Table(
    "batches",
    metadata,
    Column("batch_id", String(16), primary_key=True),
    Column("appliance_id", String(16), nullable=False),
    Column("seq", BigInt, nullable=False),
    Column("manifest", LargeBinary, nullable=False),  # the signed bytes, verbatim
    Column("signature", Text, nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("page_count", BigInt, nullable=False),
    Column("new_pages", BigInt, nullable=False),
    Column("gap_before", BigInt, nullable=False),  # sequence numbers skipped when this batch arrived
    Column("received_at", String(40), nullable=False),
    Column("receipt", LargeBinary),  # signed after the batch commit, hence nullable
    Column("receipt_signature", Text),
    UniqueConstraint("appliance_id", "seq", name="uq_batches_appliance_seq"),
)

intakes = Table(
    "intakes",
    metadata,
    Column("intake_id", String(16), primary_key=True),
    Column("appliance_id", String(16), nullable=False),
    Column("case_number", Text, nullable=False),
    Column("submitter", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("deadline", String(40), nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("record", Text, nullable=False),
    Column("batch_id", String(16), nullable=False),
    Column("batch_seq", BigInt, nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("item_id", String(16), primary_key=True),
    Column("intake_id", String(16), nullable=False, index=True),
    Column("appliance_id", String(16), nullable=False),
    Column("seq", BigInt, nullable=False),
    Column("name", Text, nullable=False),
    Column("declared_pages", BigInt, nullable=False),
    Column("volume", String(16), nullable=False),
    Column("record", Text, nullable=False),
    Column("batch_id", String(16), nullable=False),
    Column("batch_seq", BigInt, nullable=False),
)

pages = Table(
    "pages",
    metadata,
    Column("page_id", String(16), primary_key=True),  # the idempotency key: never two rows
    Column("appliance_id", String(16), nullable=False),
    Column("item_id", String(16), index=True),
    Column("page_no", BigInt),
    Column("side", String(8), nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("blob_sha256", String(64).with_variant(String(64, collation="C"), "postgresql"), nullable=False),
    Column("blob_size", BigInt, nullable=False),
    Column("blob_kind", String(32), nullable=False),
    Column("sealed_key", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("record_sha256", String(64), nullable=False),
    Column("batch_id", String(16), nullable=False),
    Column("batch_seq", BigInt, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", BigInt, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("place", String(32), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# Removable media central registered for an appliance (air-gapped carry), and
# every import of one: what it held and what became of each batch.
media = Table(
    "media",
    metadata,
    Column("medium_id", String(16), primary_key=True),
    Column("appliance_id", String(16), nullable=False),
    Column("label", Text, nullable=False),
    Column("issued_at", String(40), nullable=False),
    Column("valid_until", String(40), nullable=False),
    Column("registration", LargeBinary, nullable=False),  # the signed bytes, verbatim
    Column("revoked_at", String(40)),
)

media_imports = Table(
    "media_imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("medium_id", String(16), nullable=False),
    Column("appliance_id", String(16), nullable=False),
    Column("imported_at", String(40), nullable=False),
    Column("toc_sha256", String(64), nullable=False),
    Column("new_batches", Integer, nullable=False),
    Column("replayed_batches", Integer, nullable=False),
    Column("refused_batches", Integer, nullable=False),
    Column("detail", Text, nullable=False),  # JSON: per batch outcome and code
)

# An item's PDF as the appliance built it (image-only, then searchable), which pages it
# holds in which order, and the filing notices (入卷提醒).
documents = Table(
    "documents",
    metadata,
    Column("document_id", String(16), primary_key=True),
    Column("appliance_id", String(16), nullable=False),
    Column("item_id", String(16), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("searchable", Boolean, nullable=False),
    Column("page_count", Integer, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("blob_sha256", String(64), nullable=False),
    Column("blob_size", Integer, nullable=False),
    Column("blob_kind", String(32), nullable=False),
    Column("sealed_key", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("batch_id", String(16), nullable=False),
    Column("batch_seq", Integer, nullable=False),
)

document_pages = Table(
    "document_pages",
    metadata,
    Column("document_id", String(16), primary_key=True),
    Column("position", Integer, primary_key=True),  # 1-based: the PDF's page number
    Column("page_id", String(16), nullable=False, index=True),
)

notices = Table(
    "notices",
    metadata,
    Column("notice_id", String(16), primary_key=True),
    Column("appliance_id", String(16), nullable=False),
    Column("item_id", String(16), nullable=False),
    Column("document_id", String(16), nullable=False),
    Column("case_number", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("received_at", String(40), nullable=False, index=True),
    Column("record", Text, nullable=False),
    Column("batch_id", String(16), nullable=False),
    Column("batch_seq", Integer, nullable=False),
)

# The archive office's own records: people who log in at central, their sessions, API tokens of
# the case-system client, sampling rounds with one row per sampled item, four-property checks,
# and what a person did about an exception.
office_users = Table(
    "office_users",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("disabled_at", String(40)),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", String(40)),
    Column("created_at", String(40), nullable=False),
)

office_sessions = Table(
    "office_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),  # the cookie holds the token, never stored
    Column("user_id", String(32), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("last_seen", String(40), nullable=False),
    Column("ended_at", String(40)),
)

office_tokens = Table(
    "office_tokens",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
)


sampling_rounds = Table(
    "sampling_rounds",
    metadata,
    Column("round_id", String(16), primary_key=True),
    Column("scope", Text, nullable=False),  # JSON: batch id or period
    Column("seed", String(64), nullable=False),  # recorded so the draw can be repeated
    Column("percent", Integer, nullable=False),
    Column("drawn_by", String(32), nullable=False),
    Column("drawn_at", String(40), nullable=False),
    Column("signed_off_by", String(32)),
    Column("signed_off_at", String(40)),
)

sampling_items = Table(
    "sampling_items",
    metadata,
    Column("round_id", String(16), primary_key=True),
    Column("item_id", String(16), primary_key=True),
    Column("category", Text, nullable=False),
    Column("verdict", String(8)),  # pass | fail, NULL until inspected
    Column("defects", Text, nullable=False, default="[]"),  # JSON list of defect categories
    Column("note", Text, nullable=False, default=""),
    Column("inspected_by", String(32)),
    Column("inspected_at", String(40)),
)

property_checks = Table(
    "property_checks",
    metadata,
    Column("check_id", String(16), primary_key=True),
    Column("batch_id", String(16), nullable=False, index=True),
    Column("run_by", String(32), nullable=False),
    Column("run_at", String(40), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("result", Text, nullable=False),  # JSON report with the DA/T 70 item codes
)

exception_actions = Table(
    "exception_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("target", String(64), nullable=False),
    Column("action", Text, nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("at", String(40), nullable=False),
)

Index("ix_batches_appliance", batches.c.appliance_id, batches.c.seq)
# verify walks pages in blob order (each object read once); the report counts distinct sources
Index("ix_pages_blob_sha256", pages.c.blob_sha256)
Index("ix_pages_source_sha256", pages.c.source_sha256)
Index("ix_media_imports_appliance", media_imports.c.appliance_id, media_imports.c.imported_at)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # the revision that creates the tables central had before migrations


# --- engines ----------------------------------------------------------------------------------


def make_engine(url: str) -> Engine:
    """An engine for the URL; the schema is left as it is (see `upgrade`)."""
    if url.startswith("sqlite"):
        engine = create_engine(url)
        _tune_sqlite(engine)
        return engine
    # prepare_threshold=None: no server-side prepared statements (PgBouncer transaction mode)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args={"prepare_threshold": None})


def open_engine(url: str) -> Engine:
    """The engine, with the schema brought to the newest migration (start-up upgrade)."""
    engine = make_engine(url)
    upgrade(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # writers take the lock up front; readers stay deferred so a long `verify`
        # never holds back the server's commits (WAL lets both proceed)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine, whose transactions are write transactions (`BEGIN IMMEDIATE` on SQLite)."""
    return engine.execution_options(**{WRITE: True})


def lock(conn: Connection, key: Lock) -> None:
    """Hold `key` until the caller's transaction ends (PostgreSQL); SQLite's write
    transaction is already exclusive, so there is nothing more to take."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(key)})


# --- migrations -------------------------------------------------------------------------------


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to `revision` in one transaction, under the migration lock.

    A database made before migrations existed (tables, no version) is adopted
    at the baseline first, so its data is kept and only later steps run."""
    from alembic import command

    if revision == "head" and current_revision(engine) == head_revision():
        return  # the common start-up: nothing to do, no write lock taken
    cfg = _alembic_config()
    with writer(engine).begin() as conn:
        lock(conn, Lock.MIGRATE)
        cfg.attributes["connection"] = conn
        if _unversioned_legacy(conn):
            command.stamp(cfg, BASELINE)
        command.upgrade(cfg, revision)


def _unversioned_legacy(conn: Connection) -> bool:
    names = set(inspect(conn).get_table_names())
    return "alembic_version" not in names and "batches" in names
