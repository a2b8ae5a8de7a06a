"""Indexes for a province-sized store: verify walks pages in blob order, the report counts distinct sources.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # byte order, whatever the cluster's locale: the order S3 and the disk list names in
        op.alter_column("pages", "blob_sha256", type_=sa.String(64, collation="C"), existing_nullable=False)
    op.create_index("ix_pages_blob_sha256", "pages", ["blob_sha256"])
    op.create_index("ix_pages_source_sha256", "pages", ["source_sha256"])


def downgrade() -> None:
    op.drop_index("ix_pages_source_sha256", "pages")
    op.drop_index("ix_pages_blob_sha256", "pages")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("pages", "blob_sha256", type_=sa.String(64), existing_nullable=False)
