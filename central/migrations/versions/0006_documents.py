"""Documents (an item's PDF, the pages it holds) and filing notices (入卷提醒).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("document_id", sa.String(16), primary_key=True),
        sa.Column("appliance_id", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("searchable", sa.Boolean, nullable=False),
        sa.Column("page_count", sa.Integer, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("blob_sha256", sa.String(64), nullable=False),
        sa.Column("blob_size", sa.Integer, nullable=False),
        sa.Column("blob_kind", sa.String(32), nullable=False),
        sa.Column("sealed_key", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("batch_id", sa.String(16), nullable=False),
        sa.Column("batch_seq", sa.Integer, nullable=False),
    )
    op.create_index("ix_documents_item_id", "documents", ["item_id"])
    op.create_table(
        "document_pages",
        sa.Column("document_id", sa.String(16), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.String(16), nullable=False),
    )
    op.create_index("ix_document_pages_page_id", "document_pages", ["page_id"])
    op.create_table(
        "notices",
        sa.Column("notice_id", sa.String(16), primary_key=True),
        sa.Column("appliance_id", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(16), nullable=False),
        sa.Column("document_id", sa.String(16), nullable=False),
        sa.Column("case_number", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("batch_id", sa.String(16), nullable=False),
        sa.Column("batch_seq", sa.Integer, nullable=False),
    )
    op.create_index("ix_notices_received_at", "notices", ["received_at"])


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_table("document_pages")
    op.drop_table("documents")
