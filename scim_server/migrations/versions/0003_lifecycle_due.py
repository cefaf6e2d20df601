"""Future-dated terminations waiting for run-due.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lifecycle_due",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("relationship", sa.String(256), nullable=False),
        sa.Column("due", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "relationship", name="pk_lifecycle_due"),
    )
    op.create_index("ix_lifecycle_due_due", "lifecycle_due", ["due"])


def downgrade() -> None:
    op.drop_table("lifecycle_due")
