"""Rate limits shared by every process: one row per client (see ``scim_server.ratelimit``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scim_rate_limit",
        sa.Column("client", sa.String(128), nullable=False),
        sa.Column("tat", sa.BigInteger(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("client", name="pk_scim_rate_limit"),
    )


def downgrade() -> None:
    op.drop_table("scim_rate_limit")
