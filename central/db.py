"""Central's schema (SQLAlchemy Core) and the engine for a database URL.

SQLite is the embedded default: WAL, `synchronous=FULL` (a commit is on disk
before a receipt is signed), and `BEGIN IMMEDIATE` so two writers queue on the
lock instead of failing on a read-to-write upgrade (see `writer`). Any other URL (PostgreSQL
for a province) gets the same tables and no SQLite pragmas.

Every intake, item and page row keeps the manifest's own record (`record`,
canonical JSON) beside the columns the report needs, and every batch keeps its
signed manifest bytes: a later batch may update a row, but no version is lost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
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
)

metadata = MetaData()
WRITE = "juanzong_write"  # execution option marking a write transaction

appliances = Table(
    "appliances",
    metadata,
    Column("appliance_id", String(16), primary_key=True),
    Column("signing_public", String(64), nullable=False),
    Column("profile", Text, nullable=False, default=""),
    Column("name", Text, nullable=False, default=""),
    Column("enrolled_at", String(40), nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("batch_id", String(16), primary_key=True),
    Column("appliance_id", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("manifest", LargeBinary, nullable=False),  # the signed bytes, verbatim
    Column("signature", Text, nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("page_count", Integer, nullable=False),
    Column("new_pages", Integer, nullable=False),
    Column("gap_before", Integer, nullable=False),  # sequence numbers skipped when this batch arrived
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
    Column("batch_seq", Integer, nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("item_id", String(16), primary_key=True),
    Column("intake_id", String(16), nullable=False, index=True),
    Column("appliance_id", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("declared_pages", Integer, nullable=False),
    Column("volume", String(16), nullable=False),
    Column("record", Text, nullable=False),
    Column("batch_id", String(16), nullable=False),
    Column("batch_seq", Integer, nullable=False),
)

pages = Table(
    "pages",
    metadata,
    Column("page_id", String(16), primary_key=True),  # the idempotency key: never two rows
    Column("appliance_id", String(16), nullable=False),
    Column("item_id", String(16), index=True),
    Column("page_no", Integer),
    Column("side", String(8), nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("blob_sha256", String(64), nullable=False),
    Column("blob_size", Integer, nullable=False),
    Column("blob_kind", String(32), nullable=False),
    Column("sealed_key", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("record_sha256", String(64), nullable=False),
    Column("batch_id", String(16), nullable=False),
    Column("batch_seq", Integer, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
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

Index("ix_batches_appliance", batches.c.appliance_id, batches.c.seq)
Index("ix_media_imports_appliance", media_imports.c.appliance_id, media_imports.c.imported_at)


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    metadata.create_all(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # writers take the lock up front; readers stay deferred so a long `verify`
        # never holds back the server's commits (WAL lets both proceed)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine, whose transactions are write transactions (`BEGIN IMMEDIATE` on SQLite)."""
    return engine.execution_options(**{WRITE: True})
