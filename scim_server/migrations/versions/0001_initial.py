"""Resources, their value index, the attribute catalogue, memberships, tokens and settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INDEXED_KEY_LENGTH = 600  # scim_server.storage.tables.INDEXED_KEY_LENGTH when this migration was written


def upgrade() -> None:
    dialect = op.get_bind().dialect.name

    op.create_table(
        "scim_resource",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_modified", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(128)),
        sa.Column("modified_by", sa.String(128)),
        sa.Column("data", DOCUMENT, nullable=False),
        sa.UniqueConstraint("id", name="uq_scim_resource_id"),
    )
    op.create_index("ix_scim_resource_type", "scim_resource", ["resource_type", "pk"])

    op.create_table(
        "scim_value",
        sa.Column("resource_pk", PK, sa.ForeignKey("scim_resource.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.Integer(), nullable=False),
        sa.Column("key", KEY),
        sa.Column("num", sa.Float()),
        sa.Column("uniq", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("resource_pk", "attribute_id", "entry", name="pk_scim_value"),
        sqlite_with_rowid=False,
    )
    # Lookups by value. Partial on the key length: PostgreSQL refuses b-tree
    # entries above ~2.7 kB, and the same predicate keeps SQLite's plans alike.
    op.execute(
        f"CREATE INDEX ix_scim_value_key ON scim_value (attribute_id, key, resource_pk) "
        f"WHERE length(key) <= {INDEXED_KEY_LENGTH}"
    )
    op.execute("CREATE INDEX ix_scim_value_num ON scim_value (attribute_id, num, resource_pk) WHERE num IS NOT NULL")
    # Uniqueness (userName, case-insensitively since keys are case-folded) is
    # the database's job, so two processes cannot both take one value.
    if dialect == "postgresql":
        op.execute("CREATE UNIQUE INDEX ux_scim_value_unique ON scim_value (attribute_id, md5(key)) WHERE uniq")
    else:
        op.execute("CREATE UNIQUE INDEX ux_scim_value_unique ON scim_value (attribute_id, key) WHERE uniq")

    op.create_table(
        "scim_attribute",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("urn", sa.String(512), nullable=False),
        sa.UniqueConstraint("urn", name="uq_scim_attribute_urn"),
    )

    op.create_table(
        "scim_member",
        sa.Column("owner_pk", PK, sa.ForeignKey("scim_resource.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("member_pk", PK, sa.ForeignKey("scim_resource.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("display", sa.Text()),
        sa.PrimaryKeyConstraint("owner_pk", "member_pk", name="pk_scim_member"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_scim_member_member", "scim_member", ["member_pk", "owner_pk"])

    op.create_table(
        "scim_token",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("client", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("hint", sa.String(16), nullable=False),
        sa.Column("scopes", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(64)),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.DateTime()),
        sa.Column("revoked", sa.DateTime()),
        sa.UniqueConstraint("token_hash", name="uq_scim_token_hash"),
    )
    op.create_index("ix_scim_token_client", "scim_token", ["client"])

    op.create_table(
        "scim_setting",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(512), nullable=False),
    )


def downgrade() -> None:
    for table in ("scim_setting", "scim_token", "scim_member", "scim_attribute", "scim_value", "scim_resource"):
        op.drop_table(table)
