"""Where each SCIM attribute lives in SQL, as a filter or a sort sees it.

An attribute is in one of three places: a column of ``scim_resource``
(``id``, ``meta.*``), rows of ``scim_value`` (everything a document holds),
or ``scim_member`` (``Group.members`` and, seen from the member,
``User.groups``). A *location* hides which behind one question the filter
compiler asks: does the resource — or, inside a value path, the entry — hold
a value of this attribute that satisfies a condition?

Resource-level questions compile to ``pk IN (SELECT …)`` rather than a
correlated EXISTS, so that both databases drive the query from the value
index; SQLite would otherwise scan every resource and probe.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from scim2_models import AttributeBinding
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    union_all,
)

from ..registry import Membership, Registry
from .index import IndexPlan, encode, is_complex, is_numeric
from .tables import INDEXED_KEY_LENGTH, MemberRow, ResourceRow, ValueRow

Condition = Callable[[ColumnElement[Any]], ColumnElement[bool]] | None
"""A condition on the value of a location; None asks for any value."""

TEXT, NUMBER, TIME, COMPLEX = "text", "number", "time", "complex"

resource_table = ResourceRow.__table__
value_table = ValueRow.__table__
HAS_ROWS = value_table.alias("has_rows")
"""The value rows of ``IndexedLocation.has``: one alias for all, built once, since its subqueries are never
nested in one another (a fresh alias per condition cost more than the rest of compiling a filter)."""
member_table = MemberRow.__table__


def kind_of(binding: AttributeBinding) -> str:
    if is_complex(binding):
        return COMPLEX
    if is_numeric(binding):
        return NUMBER
    target = binding.target_type
    if isinstance(target, type) and issubclass(target, datetime.datetime):
        return TIME
    return TEXT


def short_key(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """The predicate of the partial index on (attribute, key): a literal, so both planners can match it."""
    return func.length(column) <= literal_column(str(INDEXED_KEY_LENGTH))


def long_key(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """The predicate of the partial index on the longer keys (attribute, resource)."""
    return func.length(column) > literal_column(str(INDEXED_KEY_LENGTH))


class Location:
    """An attribute seen from one scope."""

    kind: str = TEXT

    def has(self, condition: Condition) -> ColumnElement[bool]:
        """Whether the scope holds a value satisfying the condition (any value when None)."""
        raise NotImplementedError

    def operand(self, binding: AttributeBinding, value: Any) -> Any:
        """A filter value in the form this location's values are compared in; None if it equals nothing."""
        encoded = encode(binding, value)
        if encoded is None:
            return None
        return encoded[1] if self.kind == NUMBER else encoded[0]

    def equals(self, operand: Any) -> ColumnElement[bool]:
        return self.has(lambda column: column == operand)

    def has_text(self, condition: Condition) -> ColumnElement[bool]:
        """``has`` for a condition no index answers by itself (a substring): where to read it cheaply."""
        return self.has(condition)

    def present(self) -> ColumnElement[bool]:
        """RFC 7644 ``pr``: a non-empty value, or a complex value with a non-empty sub-attribute."""
        if self.kind == TEXT:
            return self.has(lambda column: column != "")
        return self.has(None)

    def missing(self) -> ColumnElement[bool]:
        """``eq null``."""
        return not_(self.has(None))

    def sort_value(self) -> ColumnElement[Any] | None:
        return None


@dataclass
class ColumnLocation(Location):
    """A column of ``scim_resource``: single-valued and always present."""

    column: ColumnElement[Any]
    kind: str = TEXT

    def has(self, condition: Condition) -> ColumnElement[bool]:
        return true() if condition is None else condition(self.column)

    def operand(self, binding: AttributeBinding, value: Any) -> Any:
        if self.kind == TIME and isinstance(value, datetime.datetime):
            return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return super().operand(binding, value)

    def present(self) -> ColumnElement[bool]:
        return true()

    def missing(self) -> ColumnElement[bool]:
        return false()

    def sort_value(self) -> ColumnElement[Any]:
        return self.column


@dataclass
class IndexedLocation(Location):
    """The ``scim_value`` rows of an attribute, for a resource.

    ``ids`` holds one id, or the ids of every sub-attribute when a complex
    attribute is tested with ``pr``. ``marker`` and ``primary`` are the ids of
    the entry rows and of the ``primary`` sub-attribute when the attribute
    sits in the entries of a multi-valued complex attribute.
    """

    owner: ColumnElement[Any]
    ids: tuple[int, ...]
    kind: str = TEXT
    marker: int | None = None
    primary: int | None = None

    def _value(self, rows: Any) -> ColumnElement[Any]:
        return rows.c.num if self.kind == NUMBER else rows.c.key

    def has(self, condition: Condition) -> ColumnElement[bool]:
        rows = HAS_ROWS
        where = [rows.c.attribute_id.in_(self.ids) if len(self.ids) > 1 else rows.c.attribute_id == self.ids[0]]
        if condition is not None:
            where.append(condition(self._value(rows)))
        return self.owner.in_(select(rows.c.resource_pk).where(*where))

    def equals(self, operand: Any) -> ColumnElement[bool]:
        if self.kind in (TEXT, TIME) and len(operand) <= INDEXED_KEY_LENGTH:
            return self.has(lambda column: and_(column == operand, short_key(column)))
        return super().equals(operand)

    def has_text(self, condition: Condition) -> ColumnElement[bool]:
        """The short keys through the (attribute, key) index, the long ones through theirs: one attribute's
        rows either way, never every value of every resource."""
        assert condition is not None
        rows = HAS_ROWS
        attribute = rows.c.attribute_id.in_(self.ids) if len(self.ids) > 1 else rows.c.attribute_id == self.ids[0]
        value = self._value(rows)
        short = select(rows.c.resource_pk).where(attribute, short_key(value), condition(value))
        long = select(rows.c.resource_pk).where(attribute, long_key(value), condition(value))
        return self.owner.in_(union_all(short, long))

    def present(self) -> ColumnElement[bool]:
        if self.kind == COMPLEX:
            # Sub-attributes of mixed kinds: numbers and booleans have no key, and are present.
            return self.has(lambda column: or_(column.is_(None), column != ""))
        return super().present()

    def missing(self) -> ColumnElement[bool]:
        if self.marker is None:
            return super().missing()
        # ScimFilter.match reads a sub-attribute of a multi-valued attribute
        # as one value per entry: null when there are no entries, or when
        # some entry lacks it.
        entries, values, every = value_table.alias(), value_table.alias(), value_table.alias()
        lacking = select(entries.c.resource_pk).where(
            entries.c.attribute_id == self.marker,
            ~exists().where(
                values.c.resource_pk == entries.c.resource_pk,
                values.c.entry == entries.c.entry,
                values.c.attribute_id == self.ids[0],
            ),
        )
        return or_(
            self.owner.not_in(select(every.c.resource_pk).where(every.c.attribute_id == self.marker)),
            self.owner.in_(lacking),
        )

    def sort_value(self) -> ColumnElement[Any] | None:
        """RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary entry, else its first."""
        if self.kind == COMPLEX:
            return None
        rows = value_table.alias()
        return (
            select(self._value(rows))
            .where(
                rows.c.resource_pk == self.owner,
                rows.c.attribute_id == self.ids[0],
                rows.c.entry == self._sorted_entry(),
            )
            .limit(1)
            .correlate_except(rows)
            .scalar_subquery()
        )

    def _sorted_entry(self) -> ColumnElement[Any]:
        if self.primary is None:
            return literal_column("0")
        rows = value_table.alias()
        primary = (
            select(func.min(rows.c.entry))
            .where(rows.c.resource_pk == self.owner, rows.c.attribute_id == self.primary, rows.c.num == 1)
            .correlate_except(rows)
            .scalar_subquery()
        )
        return func.coalesce(primary, 0)


@dataclass
class EntryLocation(Location):
    """A sub-attribute of the entry a value path is looking at.

    ``id`` None means the entry is itself the value (a list of scalars, whose
    entries a value path names ``value``).
    """

    entries: Any
    id: int | None
    kind: str = TEXT

    def has(self, condition: Condition) -> ColumnElement[bool]:
        if self.id is None:
            column = self.entries.c.num if self.kind == NUMBER else self.entries.c.key
            return true() if condition is None else condition(column)
        rows = value_table.alias()
        where = [
            rows.c.resource_pk == self.entries.c.resource_pk,
            rows.c.entry == self.entries.c.entry,
            rows.c.attribute_id == self.id,
        ]
        if condition is not None:
            where.append(condition(rows.c.num if self.kind == NUMBER else rows.c.key))
        return exists().where(*where)


@dataclass
class RelationLocation(Location):
    """A sub-attribute of ``members`` or ``groups``: an expression over the membership rows.

    With ``owner`` (resource scope) the question is whether any membership of
    the resource satisfies the condition; without it (inside a value path)
    the condition applies to the row the value path is looking at.
    """

    side: MembershipSide
    sub: str | None
    owner: ColumnElement[Any] | None = None
    row: tuple[Any, Any] | None = None
    kind: str = TEXT

    def _where(self, column: ColumnElement[Any] | None, condition: Condition) -> list[ColumnElement[bool]]:
        if column is None:
            return [false()]
        where: list[ColumnElement[bool]] = [column.is_not(None)] if self.side.nullable(self.sub) else []
        if condition is not None:
            where.append(condition(column))
        return where

    def has(self, condition: Condition) -> ColumnElement[bool]:
        if self.owner is None:
            assert self.row is not None
            return and_(true(), *self._where(self.side.column(self.sub, *self.row), condition))
        members, other = self.side.aliases()
        near = self.side.near(members)
        query = select(near).select_from(self.side.joined(members, other))
        return self.owner.in_(query.where(*self._where(self.side.column(self.sub, members, other), condition)))

    def missing(self) -> ColumnElement[bool]:
        if self.owner is None or not self.side.nullable(self.sub):
            return super().missing()
        members, other = self.side.aliases()
        near = self.side.near(members)
        column = self.side.column(self.sub, members, other)
        assert column is not None
        joined = select(near).select_from(self.side.joined(members, other))
        return or_(self.owner.not_in(select(near)), self.owner.in_(joined.where(column.is_(None))))

    def sort_value(self) -> ColumnElement[Any] | None:
        if self.owner is None:
            return None
        members, other = self.side.aliases()
        column = self.side.column(self.sub, members, other)
        if column is None:
            return None
        return (
            select(column)
            .select_from(self.side.joined(members, other))
            .where(self.side.near(members) == self.owner)
            .order_by(self.side.far(members))
            .limit(1)
            .correlate_except(members, other)
            .scalar_subquery()
        )


@dataclass
class MembershipSide:
    """One side of a membership: from the owner (``members``) or from the member (``groups``)."""

    membership: Membership
    owner_side: bool
    reference: Callable[[Any], ColumnElement[Any]]
    owner_display: int | None
    """Attribute id of the owner's ``displayName``, which ``groups.display`` shows."""

    def aliases(self) -> tuple[Any, Any]:
        """The membership rows and the resources at their far end, as every condition on this side names them.

        One pair, built once: the conditions' subqueries are siblings, never nested in one another, and
        building fresh aliases cost more than the rest of compiling the condition.
        """
        return self._aliases

    @cached_property
    def _aliases(self) -> tuple[Any, Any]:
        side = "owner" if self.owner_side else "member"
        return member_table.alias(f"{side}_rows"), resource_table.alias(f"{side}_far")

    def near(self, members: Any) -> ColumnElement[Any]:
        return members.c.owner_pk if self.owner_side else members.c.member_pk

    def far(self, members: Any) -> ColumnElement[Any]:
        return members.c.member_pk if self.owner_side else members.c.owner_pk

    def joined(self, members: Any, other: Any) -> Any:
        return members.join(other, other.c.pk == self.far(members))

    def nullable(self, sub: str | None) -> bool:
        return sub == "display"

    def column(self, sub: str | None, members: Any, other: Any) -> ColumnElement[Any] | None:
        """The value of a sub-attribute, in the form comparisons use (case-folded unless caseExact)."""
        if sub in (None, "value"):
            return other.c.id
        if sub == "ref":
            return self.reference(other)
        if sub == "type":
            return func.lower(other.c.resource_type) if self.owner_side else literal("direct")
        if sub == "display":
            if self.owner_side:
                return func.lower(members.c.display)
            if self.owner_display is None:
                return None
            names = value_table.alias()
            return (
                select(names.c.key)
                .where(
                    names.c.resource_pk == other.c.pk, names.c.attribute_id == self.owner_display, names.c.entry == 0
                )
                .correlate_except(names)
                .scalar_subquery()
            )
        return None


class Mapper:
    """Builds locations for one resource type: the single place that knows the SQL layout."""

    def __init__(self, registry: Registry, plans: Callable[[str], IndexPlan]) -> None:
        self.registry = registry
        self.plans = plans
        self.endpoints = {name: d.endpoint.strip("/") for name, d in registry.resources.items()}

    def side(self, resource_type: str, binding: AttributeBinding) -> MembershipSide | None:
        name = binding.urn.rsplit(":", 1)[-1].split(".", 1)[0]
        for membership in self.registry.memberships:
            if membership.owner == resource_type and membership.attribute == name:
                return MembershipSide(membership, True, self.reference, None)
            if membership.reverse == (resource_type, name):
                display = next(
                    (
                        leaf.id
                        for urn, leaf in self.plans(membership.owner).leaves.items()
                        if urn.endswith(":displayName")
                    ),
                    None,
                )
                return MembershipSide(membership, False, self.reference, display)
        return None

    def column(self, binding: AttributeBinding, resource: Any) -> ColumnLocation | None:
        if binding.field_name == "id":
            return ColumnLocation(resource.c.id)
        if binding.field_name != "meta":
            return None
        sub = binding.sub_field_name
        if sub == "created":
            return ColumnLocation(resource.c.created, TIME)
        if sub == "last_modified":
            return ColumnLocation(resource.c.last_modified, TIME)
        if sub == "resource_type":
            column = resource.c.resource_type
            return ColumnLocation(column if binding.case_exact else func.lower(column))
        if sub == "version":
            return ColumnLocation(literal('W/"') + cast(resource.c.version, String) + literal('"'))
        if sub == "location":
            # Every resource has a location; its absolute form depends on the
            # request's base URL, so only the path relative to it is compared.
            return ColumnLocation(self.reference(resource))
        return None

    def reference(self, resource: Any) -> ColumnElement[Any]:
        """``Users/<id>``: a resource's location relative to the SCIM root."""
        whens = [
            (resource.c.resource_type == name, literal(f"{endpoint}/") + resource.c.id)
            for name, endpoint in self.endpoints.items()
        ]
        return case(*whens, else_=resource.c.id)

    def locate(self, resource_type: str, binding: AttributeBinding, resource: Any) -> Location | None:
        """The location of an attribute at resource scope; None when nothing stores it."""
        if (column := self.column(binding, resource)) is not None:
            return column
        if binding.field_name == "meta":
            return None
        if (side := self.side(resource_type, binding)) is not None:
            return RelationLocation(side, binding.sub_field_name, owner=resource.c.pk, kind=kind_of(binding))
        plan = self.plans(resource_type)
        leaves = plan.leaves_under(binding)
        if not leaves:
            return None
        kind = kind_of(binding)
        if kind == COMPLEX:
            return IndexedLocation(resource.c.pk, tuple(leaf.id for leaf in leaves), COMPLEX)
        head = binding.urn.rsplit(".", 1)[0] if binding.sub_field_name else None
        marker = plan.markers.get(head) if head else None
        primary = plan.leaves.get(f"{head}.primary") if marker is not None else None
        return IndexedLocation(resource.c.pk, (leaves[0].id,), kind, marker, primary.id if primary else None)

    def entries(self, resource_type: str, binding: AttributeBinding, resource: Any) -> EntryScope | None:
        """The entries of a multi-valued attribute, for a value path; None when it has none to select."""
        if (side := self.side(resource_type, binding)) is not None:
            return RelationEntries(side, resource)
        plan = self.plans(resource_type)
        marker = plan.markers.get(binding.urn)
        if marker is not None:
            return IndexedEntries(plan, resource, marker)
        leaf = plan.leaf(binding)
        if leaf is not None and binding.is_multivalued:
            return IndexedEntries(plan, resource, leaf.id, scalar_kind=kind_of(binding))
        return None


class EntryScope:
    """The entries of a multi-valued attribute a value path selects from."""

    def locate(self, binding: AttributeBinding | None, name: str) -> Location | None:
        raise NotImplementedError

    def any(self, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        """Whether the resource has an entry satisfying the condition built against ``locate``."""
        raise NotImplementedError


class IndexedEntries(EntryScope):
    def __init__(self, plan: IndexPlan, resource: Any, entry_id: int, scalar_kind: str | None = None) -> None:
        self.plan = plan
        self.resource = resource
        self.entry_id = entry_id
        self.scalar_kind = scalar_kind
        self.rows = value_table.alias()

    def locate(self, binding: AttributeBinding | None, name: str) -> Location | None:
        if self.scalar_kind is not None:
            return EntryLocation(self.rows, None, self.scalar_kind) if name.lower() == "value" else None
        leaf = self.plan.leaf(binding) if binding is not None else None
        return EntryLocation(self.rows, leaf.id, kind_of(binding)) if leaf and binding else None

    def any(self, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return self.resource.c.pk.in_(
            select(self.rows.c.resource_pk).where(self.rows.c.attribute_id == self.entry_id, condition)
        )


class RelationEntries(EntryScope):
    def __init__(self, side: MembershipSide, resource: Any) -> None:
        self.side = side
        self.resource = resource
        self.members, self.other = side.aliases()

    def locate(self, binding: AttributeBinding | None, name: str) -> Location | None:
        if binding is None:
            return None
        return RelationLocation(
            self.side, binding.sub_field_name, row=(self.members, self.other), kind=kind_of(binding)
        )

    def any(self, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        near = self.side.near(self.members)
        return self.resource.c.pk.in_(
            select(near).select_from(self.side.joined(self.members, self.other)).where(condition)
        )

    def selected(self, owner_pk: int, condition: ColumnElement[bool]) -> Any:
        """The member pks of one owner whose row satisfies the condition (a PATCH path's value filter)."""
        return (
            select(self.side.far(self.members))
            .select_from(self.side.joined(self.members, self.other))
            .where(self.side.near(self.members) == owner_pk, condition)
        )
