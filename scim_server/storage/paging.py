"""Sorting, index paging and RFC 9865 cursor paging, in SQL.

Resources are ordered by (no sort value?, sort value, pk) — missing values
last when ascending and first when descending, as RFC 7644 §3.4.2.3 says and
scim2-models sorts. The pk breaks ties, so the order is total, which is what
makes keyset cursors stable: a position is the key of the last row of a page
(or the first, going back), and the next page is "rows after that key".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from scim2_models import InvalidCursorException
from sqlalchemy import ColumnElement, Select, and_, false, or_

NEXT, PREVIOUS = "next", "previous"


@dataclass(frozen=True)
class Anchor:
    """A position in the order: the key of a row, which may since have been deleted."""

    direction: str
    missing: bool
    value: Any
    pk: int


def encode_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"t": value.isoformat()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        try:
            return datetime.datetime.fromisoformat(value["t"])
        except (KeyError, TypeError, ValueError):
            raise InvalidCursorException from None
    return value


def position(direction: str, value: Any, pk: int) -> dict[str, Any]:
    return {"d": direction, "m": value is None, "k": encode_value(value), "p": pk}


def read_position(raw: Any) -> Anchor:
    """The anchor a cursor holds.

    The service sealed and authenticated the cursor, so a bad shape can only
    come from another version of this server.
    """
    try:
        direction, missing, value, pk = raw["d"], raw["m"], raw["k"], raw["p"]
    except (TypeError, KeyError):
        raise InvalidCursorException from None
    if direction not in (NEXT, PREVIOUS) or not isinstance(pk, int) or not isinstance(missing, bool):
        raise InvalidCursorException
    return Anchor(direction, missing, decode_value(value), pk)


@dataclass
class Ordering:
    """The total order of a search: an optional sort expression, then the pk."""

    value: ColumnElement[Any] | None
    pk: ColumnElement[Any]
    descending: bool = False

    def order_by(self, *, reverse: bool = False) -> list[ColumnElement[Any]]:
        descending = self.descending != reverse
        if self.value is None:
            return [self.pk.desc() if descending else self.pk.asc()]
        missing = self.value.is_(None)
        if descending:
            return [missing.desc(), self.value.desc(), self.pk.desc()]
        return [missing.asc(), self.value.asc(), self.pk.asc()]

    def beyond(self, anchor: Anchor, *, forward: bool) -> ColumnElement[bool]:
        """Rows strictly after the anchor in the order (forward), or strictly before it."""
        later = forward != self.descending  # greater keys come later
        pk_beyond = self.pk > anchor.pk if later else self.pk < anchor.pk
        if self.value is None:
            return pk_beyond
        present = self.value.is_not(None)
        absent = self.value.is_(None)
        if anchor.missing:
            # Missing values sort after every present one (ascending).
            return or_(and_(absent, pk_beyond), present if not later else false())
        value_beyond = self.value > anchor.value if later else self.value < anchor.value
        tie = and_(self.value == anchor.value, pk_beyond)
        return or_(value_beyond, tie, absent if later else false())

    def page(self, query: Select[Any], anchor: Anchor | None, count: int) -> Select[Any]:
        """The rows of a cursor page, one more than asked to tell whether another page follows."""
        if anchor is None:
            return query.order_by(*self.order_by()).limit(count + 1)
        forward = anchor.direction == NEXT
        return (
            query.where(self.beyond(anchor, forward=forward))
            .order_by(*self.order_by(reverse=not forward))
            .limit(count + 1)
        )
