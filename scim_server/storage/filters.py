"""SCIM filters compiled to SQLAlchemy WHERE clauses, by a ``FilterVisitor`` over scim2-models' filter tree.

The semantics are those of ``ScimFilter.match``, node for node, so that the
SQL keeps exactly the resources the in-memory evaluator would keep (the
storage contract suite checks this on every operator): an attribute without a
value satisfies ``ne`` and ``eq null`` and nothing else, ``ne`` on a
multi-valued attribute means no value is equal, the substring operators only
apply to strings, and a value path asks all its questions of one entry.
Attribute names, case-exactness and value coercion come from the models.
"""

from __future__ import annotations

from typing import Any

from scim2_models import AttributeBinding, InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
    coerce_value,
)
from scim2_server.utils import parametrize
from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from .mapping import COMPLEX, NUMBER, TEXT, EntryScope, Location, Mapper

TEXT_OPERATORS = {
    CompareOperator.co: "contains",
    CompareOperator.sw: "startswith",
    CompareOperator.ew: "endswith",
}
MAX_SUBSTRING = 10_000
"""The longest operand of ``co``, ``sw`` and ``ew`` on a string attribute, in characters once prepared for
comparison (case-folded: ``ΐ`` is three); longer is 400 ``invalidFilter``.

SQLite refuses LIKE patterns above 50,000 bytes, which 12,500 characters of
4-byte UTF-8 reach; one bound on both databases keeps their answers alike.
"""

MAX_COMPARISONS = 64
"""The most comparisons (and presence tests, and value paths) one filter may hold; more is 400 ``invalidFilter``.

The library bounds how deep a filter nests, not how wide. Wide filters cost
the databases dearly: ``a or b or …`` with a thousand terms exceeds SQLite's
expression depth, and PostgreSQL plans conjunctions in time that explodes
with their number — 128 ``and``-ed comparisons take it 1.7 s to plan, 256 a
minute, 64 value paths 3 s, whatever the data. Within this bound the worst
shape found (one value path of 63 ``and``-ed conditions) plans in about a
second; no client needs more to find its resources.
"""

ORDERINGS = {
    CompareOperator.gt: lambda column, operand: column > operand,
    CompareOperator.ge: lambda column, operand: column >= operand,
    CompareOperator.lt: lambda column, operand: column < operand,
    CompareOperator.le: lambda column, operand: column <= operand,
}


class SqlFilter(FilterVisitor[ColumnElement[bool]]):
    """Compiles a filter bound to one model, for the resources of one resource type.

    Inside a value path, ``entries`` is the scope of the selected attribute's
    entries and ``head`` its path, so that ``type`` in ``emails[type eq
    "work"]`` resolves as ``emails.type``.
    """

    def __init__(
        self,
        scim_filter: ScimFilter[Any],
        mapper: Mapper,
        resource_type: str,
        resource: Any,
        *,
        entries: EntryScope | None = None,
        head: tuple[AttrPath, AttributeBinding] | None = None,
    ) -> None:
        self.filter = scim_filter
        self.mapper = mapper
        self.resource_type = resource_type
        self.resource = resource
        self.entries = entries
        self.head = head
        self._bounded = False

    def compile(self) -> ColumnElement[bool]:
        return self.visit(self.filter.ast)

    def visit(self, node: Any) -> ColumnElement[bool]:
        if not self._bounded:  # the root of what this compiler is asked for, from ``compile`` or a PATCH path
            self._bounded = True
            _bound_size(node)
        return super().visit(node)

    def _locate(self, attr_path: AttrPath, *, comparison: bool) -> tuple[AttributeBinding | None, Location | None]:
        if self.entries is None:
            resolve = self.filter.resolve_comparison if comparison else self.filter.resolve
            binding = resolve(attr_path, strict=False)
            if binding is None:
                return None, None
            return binding, self.mapper.locate(self.resource_type, binding, self.resource)
        assert self.head is not None
        head_path, head_binding = self.head
        if attr_path.uri or attr_path.sub_attr:
            return None, None
        binding = self.filter.resolve(AttrPath(head_path.attr, attr_path.attr, head_path.uri), strict=False)
        location = self.entries.locate(binding, attr_path.attr)
        return (binding or (head_binding if location is not None else None)), location

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        binding, location = self._locate(node.attr_path, comparison=True)
        if binding is None:
            return false()
        value = coerce_value(binding, node.value, node.op)
        if location is None:
            # An attribute nothing stores has no value, as for a missing one.
            absent_matches = (node.op == CompareOperator.eq and value is None) or (
                node.op == CompareOperator.ne and value is not None
            )
            return true() if absent_matches else false()
        return compare(location, binding, node.op, value)

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        _, location = self._locate(node.attr_path, comparison=False)
        return false() if location is None else location.present()

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        if self.entries is not None:
            return false()  # RFC 7644 errata: value paths do not nest
        binding = self.filter.resolve(node.attr_path, strict=False)
        if binding is None:
            return false()
        entries = self.mapper.entries(self.resource_type, binding, self.resource)
        if entries is None:
            return false()
        inner = SqlFilter(
            self.filter,
            self.mapper,
            self.resource_type,
            self.resource,
            entries=entries,
            head=(node.attr_path, binding),
        ).visit(node.val_filter)
        return entries.any(inner)


def _bound_size(root: Any) -> None:
    """Refuse a filter of more than ``MAX_COMPARISONS`` comparisons, counted without recursion."""
    count, pending = 0, [root]
    while pending:
        node = pending.pop()
        if isinstance(node, LogicalExpr):
            pending.extend(node.terms)
        elif isinstance(node, Not):
            pending.append(node.expr)
        else:
            count += 1
            if isinstance(node, ValuePath):
                pending.append(node.val_filter)
    if count > MAX_COMPARISONS:
        raise InvalidFilterException(detail=f"the filter holds more than {MAX_COMPARISONS} comparisons")


def _storable(value: Any) -> Any:
    """Refuse filter strings no stored value can hold, which the databases would refuse less politely."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidFilterException(detail="filter values must be valid Unicode (no lone surrogates)") from None
        if "\x00" in value:
            raise InvalidFilterException(detail="filter values must not contain the NUL character (U+0000)")
    return value


def compare(location: Location, binding: AttributeBinding, op: CompareOperator, value: Any) -> ColumnElement[bool]:
    """One comparison, with ``ScimFilter.match``'s reading of nulls, types and multi-valued attributes."""
    _storable(value)
    if value is None:
        if op == CompareOperator.eq:
            return location.missing()
        if op == CompareOperator.ne:
            return location.has(None)
        return false()
    if location.kind == COMPLEX:
        # A complex value never equals a scalar.
        return true() if op == CompareOperator.ne else false()
    if op in TEXT_OPERATORS:
        if location.kind != TEXT or not isinstance(value, str):
            return false()
        try:
            needle = binding.comparable(value)
        except ValueError:
            return false()
        if len(needle) > MAX_SUBSTRING:
            raise InvalidFilterException(detail=f"{op.value} takes at most {MAX_SUBSTRING} characters")
        method = TEXT_OPERATORS[op]
        return location.has_text(lambda column: getattr(column, method)(needle, autoescape=True))
    operand = location.operand(binding, value)
    if operand is None:
        # A string the policy cannot prepare is equal to no other value.
        return true() if op == CompareOperator.ne else false()
    if op == CompareOperator.eq:
        return location.equals(operand)
    if op == CompareOperator.ne:
        return not_(location.equals(operand))
    if location.kind == NUMBER and isinstance(value, bool):
        return false()
    return location.has(lambda column: ORDERINGS[op](column, operand))


def compile_filter(
    scim_filter: ScimFilter[Any], model: type[Any], mapper: Mapper, resource_type: str, resource: Any
) -> ColumnElement[bool]:
    """The WHERE clause of a filter for the resources of one type.

    A filter at the server root is bound to every model; it is rebound here
    to the one being compiled, so that attributes only resolve where declared.
    """
    if scim_filter.models != (model,):
        scim_filter = parametrize(ScimFilter, model)(str(scim_filter))
    return SqlFilter(scim_filter, mapper, resource_type, resource).compile()
