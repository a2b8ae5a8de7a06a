"""Alembic environment: always run by `central.db.upgrade`, on the connection it hands over.

That connection is already inside the upgrade transaction and holds the
migration lock, so this file only points Alembic at central's metadata.
"""

from __future__ import annotations

from alembic import context

from juanzong.central import db

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=db.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
