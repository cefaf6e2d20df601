"""Pending approvals of lifecycle transitions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lifecycle_approval",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(128)),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decided", sa.DateTime()),
    )
    op.create_index("ix_lifecycle_approval_user", "lifecycle_approval", ["user_id"])
    op.create_index("ix_lifecycle_approval_status", "lifecycle_approval", ["status", "requested"])


def downgrade() -> None:
    op.drop_table("lifecycle_approval")
