"""An index on the rare keys longer than the (attribute, key) index holds, so that a substring filter
(``co``, ``sw``, ``ew``) reads one attribute's rows through the indexes instead of scanning every value.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXED_KEY_LENGTH = 600  # scim_server.storage.tables.INDEXED_KEY_LENGTH when this migration was written


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX ix_scim_value_long ON scim_value (attribute_id, resource_pk) "
        f"WHERE length(key) > {INDEXED_KEY_LENGTH}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_scim_value_long")
