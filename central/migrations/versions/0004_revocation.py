"""Appliance revocation (`central revoke`) and the certificate serials issued to each appliance.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("appliances")}
    if "revoked_at" not in columns:
        op.add_column("appliances", sa.Column("revoked_at", sa.String(40)))
    if "revoked_reason" not in columns:
        op.add_column("appliances", sa.Column("revoked_reason", sa.Text))
    if "cert_serials" not in columns:
        op.add_column("appliances", sa.Column("cert_serials", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("appliances") as batch:
        batch.drop_column("cert_serials")
        batch.drop_column("revoked_reason")
        batch.drop_column("revoked_at")
