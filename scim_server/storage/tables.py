"""The tables behind SqlStorage.

A resource is one row of ``scim_resource``: its identity and meta as columns,
its attributes as the JSON document the protocol reads back. Filtering and
sorting never read the document; they read ``scim_value``, where every scalar
of every resource sits as one row keyed by a small attribute id, in the form
comparisons use (case-folded unless ``caseExact``). Group membership lives in
``scim_member`` so that it changes by rows, not by rewriting documents.

Indexes that differ by dialect (the partial and expression indexes of
``scim_value``) are created by the migrations, which own the schema.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime

PrimaryKey = BigInteger().with_variant(Integer, "sqlite")
"""64-bit keys: BIGINT on PostgreSQL; on SQLite, INTEGER PRIMARY KEY (already 64-bit) so that it aliases the rowid."""

KeyText = Text().with_variant(Text(collation="C"), "postgresql")
"""Comparable text, ordered by code point on both databases, as Python orders strings."""

Document = JSON().with_variant(JSONB(), "postgresql")

INDEXED_KEY_LENGTH = 600
"""Keys up to this many characters are in the b-tree index on (attribute, key).

PostgreSQL refuses index entries above ~2.7 kB; 600 characters of 4-byte UTF-8
stay below that. Longer values are still stored and filtered, by a scan of
that attribute's rows.
"""


class ResourceRow(Base):
    __tablename__ = "scim_resource"

    pk: Mapped[int] = mapped_column(PrimaryKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    resource_type: Mapped[str] = mapped_column(String(64), index=True)
    created: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    last_modified: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(128))
    modified_by: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(Document)


class ValueRow(Base):
    """One scalar of one resource: ``entry`` is its position in a multi-valued attribute, 0 otherwise.

    A multi-valued complex attribute also gets one row per entry under its own
    attribute id (``emails``, no value), so that ``emails[type eq "work" and
    value co "x"]`` can ask both questions of the same entry.
    """

    __tablename__ = "scim_value"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute

    resource_pk: Mapped[int] = mapped_column(
        PrimaryKey, ForeignKey("scim_resource.pk", ondelete="CASCADE"), primary_key=True
    )
    attribute_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(KeyText)
    num: Mapped[float | None] = mapped_column(Float)
    uniq: Mapped[bool] = mapped_column(Boolean, default=False)


class AttributeRow(Base):
    """The catalogue giving each attribute URN the small id ``scim_value`` stores."""

    __tablename__ = "scim_attribute"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    urn: Mapped[str] = mapped_column(String(512), unique=True)


class MemberRow(Base):
    __tablename__ = "scim_member"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute

    owner_pk: Mapped[int] = mapped_column(
        PrimaryKey, ForeignKey("scim_resource.pk", ondelete="CASCADE"), primary_key=True
    )
    member_pk: Mapped[int] = mapped_column(
        PrimaryKey, ForeignKey("scim_resource.pk", ondelete="CASCADE"), primary_key=True, index=True
    )
    display: Mapped[str | None] = mapped_column(Text)
