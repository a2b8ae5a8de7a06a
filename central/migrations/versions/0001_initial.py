"""The tables central had before migrations: appliances, batches, intakes, items, pages, audit.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "appliances",
        sa.Column("appliance_id", sa.String(16), primary_key=True),
        sa.Column("signing_public", sa.String(64), nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("enrolled_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.String(16), primary_key=True),
        sa.Column("appliance_id", sa.String(16), nullable=False),
        sa.Column("seq", BigInt, nullable=False),
        sa.Column("manifest", sa.LargeBinary, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("page_count", BigInt, nullable=False),
        sa.Column("new_pages", BigInt, nullable=False),
        sa.Column("gap_before", BigInt, nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("receipt", sa.LargeBinary),
        sa.Column("receipt_signature", sa.Text),
        sa.UniqueConstraint("appliance_id", "seq", name="uq_batches_appliance_seq"),
    )
    op.create_index("ix_batches_appliance", "batches", ["appliance_id", "seq"])
    op.create_table(
        "intakes",
        sa.Column("intake_id", sa.String(16), primary_key=True),
        sa.Column("appliance_id", sa.String(16), nullable=False),
        sa.Column("case_number", sa.Text, nullable=False),
        sa.Column("submitter", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("deadline", sa.String(40), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("batch_id", sa.String(16), nullable=False),
        sa.Column("batch_seq", BigInt, nullable=False),
    )
    op.create_table(
        "items",
        sa.Column("item_id", sa.String(16), primary_key=True),
        sa.Column("intake_id", sa.String(16), nullable=False),
        sa.Column("appliance_id", sa.String(16), nullable=False),
        sa.Column("seq", BigInt, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("declared_pages", BigInt, nullable=False),
        sa.Column("volume", sa.String(16), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("batch_id", sa.String(16), nullable=False),
        sa.Column("batch_seq", BigInt, nullable=False),
    )
    op.create_index("ix_items_intake_id", "items", ["intake_id"])
    op.create_table(
        "pages",
        sa.Column("page_id", sa.String(16), primary_key=True),
        sa.Column("appliance_id", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(16)),
        sa.Column("page_no", BigInt),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("blob_sha256", sa.String(64), nullable=False),
        sa.Column("blob_size", BigInt, nullable=False),
        sa.Column("blob_kind", sa.String(32), nullable=False),
        sa.Column("sealed_key", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("record_sha256", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(16), nullable=False),
        sa.Column("batch_seq", BigInt, nullable=False),
    )
    op.create_index("ix_pages_item_id", "pages", ["item_id"])
    op.create_table(
        "audit",
        sa.Column("seq", BigInt, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("place", sa.String(32), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("audit", "pages", "items", "intakes", "batches", "appliances"):
        op.drop_table(table)
