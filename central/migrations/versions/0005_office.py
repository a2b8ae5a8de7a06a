"""The archive office: users, sessions, API tokens, sampling rounds, four-property checks, exception actions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "office_users",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled_at", sa.String(40)),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.String(40)),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "office_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("last_seen", sa.String(40), nullable=False),
        sa.Column("ended_at", sa.String(40)),
    )
    op.create_table(
        "office_tokens",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40)),
    )
    op.create_table(
        "sampling_rounds",
        sa.Column("round_id", sa.String(16), primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("seed", sa.String(64), nullable=False),
        sa.Column("percent", sa.Integer, nullable=False),
        sa.Column("drawn_by", sa.String(32), nullable=False),
        sa.Column("drawn_at", sa.String(40), nullable=False),
        sa.Column("signed_off_by", sa.String(32)),
        sa.Column("signed_off_at", sa.String(40)),
    )
    op.create_table(
        "sampling_items",
        sa.Column("round_id", sa.String(16), primary_key=True),
        sa.Column("item_id", sa.String(16), primary_key=True),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(8)),
        sa.Column("defects", sa.Text, nullable=False, server_default="[]"),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("inspected_by", sa.String(32)),
        sa.Column("inspected_at", sa.String(40)),
    )
    op.create_table(
        "property_checks",
        sa.Column("check_id", sa.String(16), primary_key=True),
        sa.Column("batch_id", sa.String(16), nullable=False),
        sa.Column("run_by", sa.String(32), nullable=False),
        sa.Column("run_at", sa.String(40), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )
    op.create_index("ix_property_checks_batch_id", "property_checks", ["batch_id"])
    op.create_table(
        "exception_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    for name in (
        "exception_actions",
        "property_checks",
        "sampling_items",
        "sampling_rounds",
        "office_tokens",
        "office_sessions",
        "office_users",
    ):
        op.drop_table(name)
