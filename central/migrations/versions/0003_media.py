"""Removable media registered for an appliance (air-gapped carry) and every import of one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

A database adopted from before migrations may already hold these two tables
(they were briefly made by `create_all`): they are kept as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "media" not in existing:
        op.create_table(
            "media",
            sa.Column("medium_id", sa.String(16), primary_key=True),
            sa.Column("appliance_id", sa.String(16), nullable=False),
            sa.Column("label", sa.Text, nullable=False),
            sa.Column("issued_at", sa.String(40), nullable=False),
            sa.Column("valid_until", sa.String(40), nullable=False),
            sa.Column("registration", sa.LargeBinary, nullable=False),
            sa.Column("revoked_at", sa.String(40)),
        )
    if "media_imports" not in existing:
        op.create_table(
            "media_imports",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("medium_id", sa.String(16), nullable=False),
            sa.Column("appliance_id", sa.String(16), nullable=False),
            sa.Column("imported_at", sa.String(40), nullable=False),
            sa.Column("toc_sha256", sa.String(64), nullable=False),
            sa.Column("new_batches", sa.Integer, nullable=False),
            sa.Column("replayed_batches", sa.Integer, nullable=False),
            sa.Column("refused_batches", sa.Integer, nullable=False),
            sa.Column("detail", sa.Text, nullable=False),
        )
        op.create_index("ix_media_imports_appliance", "media_imports", ["appliance_id", "imported_at"])


def downgrade() -> None:
    op.drop_table("media_imports")
    op.drop_table("media")
