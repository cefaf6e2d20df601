"""Searching: filters, sorting, index and cursor paging of SqlStorage, in SQL.

Split from ``sql.py`` for size; ``SqlStorage`` is the only class that uses it,
and its attributes (``types``, ``models``, ``mapper``, ``session``,
``_assemble``) are what this mixin reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any

from scim2_models import Path, Resource, ResourceType, ResponseParameters, ScimFilter, SearchRequest
from scim2_server.storage import SearchPage
from scim2_server.utils import parametrize
from sqlalchemy import ColumnElement, Connection, Engine, String, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from .documents import ROW
from .filters import compile_filter
from .mapping import resource_table, short_key
from .paging import NEXT, PREVIOUS, Ordering, read_position
from .paging import position as position_of
from .tables import INDEXED_KEY_LENGTH, ResourceRow

LARGEST_OFFSET = 2**63 - 1
"""The largest OFFSET SQLite and PostgreSQL take; a startIndex beyond it is beyond every result."""

Builder = Callable[[Session | Connection, str, Sequence[Any], Any], list[Any]]
"""Builds what a search returns from rows of one type: models (``_assemble``) or documents (``_documents``)."""


class SqlSearch:
    """The ``search`` half of the ScimStorage contract, and ``find`` for write hooks."""

    types: dict[str, ResourceType]
    models: dict[str, type[Resource[Any]]]
    mapper: Any

    _session: ContextVar[Session | None]
    _equal_statements: dict[tuple[str, str], Any]
    reads: Engine

    def session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def owners_columns(self, name: str) -> list[Any]:
        raise NotImplementedError

    def _assemble(
        self,
        session: Session | Connection,
        name: str,
        rows: Sequence[Any],
        parameters: ResponseParameters[Any] | None = None,
    ) -> list[Resource[Any]]:
        raise NotImplementedError

    def _documents(
        self,
        session: Session | Connection,
        name: str,
        rows: Sequence[Any],
        parameters: ResponseParameters[Any] | None = None,
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        return self._search(resource_types, search_request, position, self._assemble)

    def search_documents(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        """``search``, with the stored documents of the resources instead of models (see ``rendering``)."""
        return self._search(resource_types, search_request, position, self._documents)

    def _search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        position: Any,
        build: Builder,
    ) -> SearchPage:
        names = list(dict.fromkeys(str(rt.name) for rt in resource_types))
        resource = resource_table
        where = or_(*(self._type_condition(name, search_request, resource) for name in names))
        ordering = Ordering(self._sort_value(names, search_request, resource), resource.c.pk)
        ordering.descending = bool(
            search_request.sort_by is not None and search_request.sort_order == SearchRequest.SortOrder.descending
        )
        columns: list[Any] = [*ROW, ResourceRow.resource_type]
        if ordering.value is not None:
            columns.append(ordering.value.label("sort_value"))
        base = select(*columns).where(where)
        counting = select(func.count()).select_from(resource).where(where)
        if search_request.cursor is None and self._session.get() is None:
            # A search on its own (not a write hook's): no transaction around it, as a GET by id. On
            # PostgreSQL each statement sees what was committed before it, in a transaction or not; on
            # SQLite the count, when needed, may see a write committed after the page was read.
            with self.reads.connect() as reader:
                return self._index_page(reader, names, base, counting, ordering, search_request, build)
        with self.session() as session:
            connection = session.connection()
            count = search_request.count
            if search_request.cursor is None:
                return self._index_page(connection, names, base, counting, ordering, search_request, build)
            total = connection.execute(counting).scalar_one()
            if count == 0:
                return SearchPage(total, [])
            anchor = read_position(position) if position is not None else None
            limit = count if count is not None else total
            rows = list(session.connection().execute(ordering.page(base, anchor, limit)).all())
            more = len(rows) > limit
            rows = rows[:limit]
            forward = anchor is None or anchor.direction == NEXT
            if not forward:
                rows.reverse()
            page = SearchPage(total, _build_mixed(session, rows, search_request, build))
            if not rows:
                return page
            first, last = rows[0], rows[-1]
            has_next = more if forward else self._exists_beyond(session, base, ordering, last, forward=True)
            has_previous = (
                (anchor is not None and self._exists_beyond(session, base, ordering, first, forward=False))
                if forward
                else more
            )
            if has_next:
                page.next = position_of(NEXT, _sort_of(last), last.pk)
            if has_previous:
                page.previous = position_of(PREVIOUS, _sort_of(first), first.pk)
            return page

    def _index_page(
        self,
        connection: Connection,
        names: list[str],
        base: Any,
        counting: Any,
        ordering: Ordering,
        search_request: SearchRequest[Any],
        build: Builder,
    ) -> SearchPage:
        """A page by ``startIndex``; the count only when the page may not hold the last match."""
        count = search_request.count
        start = search_request.start_index_0 or 0
        if start == 0 and len(names) == 1:
            # Nothing skipped: what others hold of each resource (its groups) rides in the same statement.
            base = base.add_columns(*self.owners_columns(names[0]))
        query = base.order_by(*ordering.order_by()).offset(start)
        empty = count == 0 or start > LARGEST_OFFSET
        rows = [] if empty else connection.execute(query if count is None else query.limit(count)).all()
        if rows and (count is None or len(rows) < count):
            total = start + len(rows)  # the page holds the last match: no count needed (lookups)
        else:
            total = connection.execute(counting).scalar_one()
        return SearchPage(total, _build_mixed(connection, rows, search_request, build))

    def _exists_beyond(self, session: Session, base: Any, ordering: Ordering, row: Any, *, forward: bool) -> bool:
        anchor = read_position(position_of(NEXT if forward else PREVIOUS, _sort_of(row), row.pk))
        query = base.with_only_columns(resource_table.c.pk).where(ordering.beyond(anchor, forward=forward)).limit(1)
        return session.connection().execute(query).first() is not None

    def _type_condition(self, name: str, search_request: SearchRequest[Any], resource: Any) -> ColumnElement[bool]:
        condition = resource.c.resource_type == name
        if search_request.filter is None:
            return condition
        return condition & compile_filter(search_request.filter, self.models[name], self.mapper, name, resource)

    def _sort_value(
        self, names: list[str], search_request: SearchRequest[Any], resource: Any
    ) -> ColumnElement[Any] | None:
        if search_request.sort_by is None:
            return None
        values = {}
        for name in names:
            binding = search_request.sort_binding(self.models[name])
            location = self.mapper.locate(name, binding, resource) if binding is not None else None
            values[name] = location.sort_value() if location is not None else None
        present = {name: value for name, value in values.items() if value is not None}
        if not present:
            return None
        if len(names) == 1:
            return present[names[0]]
        return case(*((resource.c.resource_type == name, value) for name, value in present.items()), else_=None)

    def find_equal(self, name: str, attribute: str, value: str) -> list[Any]:
        """Every resource of a type whose text attribute equals a value, oldest first (for write hooks).

        What ``find`` does for ``attribute eq "value"``, without parsing and compiling a filter per call: the
        statement is built once per attribute, and the value bound. A cascade asks this several times a write.
        """
        statement = self._equal_statements.get((name, attribute))
        if statement is None:
            binding = parametrize(Path, self.models[name])(attribute).resolve()
            location = self.mapper.locate(name, binding, resource_table) if binding is not None else None
            if location is None:
                raise ValueError(f"{name} has no attribute {attribute!r} to look up")
            value_parameter = bindparam("value", type_=String())
            condition = location.has(lambda column: and_(column == value_parameter, short_key(column)))
            statement = (
                select(*ROW)
                .where(resource_table.c.resource_type == name, condition)
                .order_by(resource_table.c.created, resource_table.c.pk)
            )
            self._equal_statements[(name, attribute)] = statement
        if len(value) > INDEXED_KEY_LENGTH:  # beyond the index's keys: the general way
            return self.find(name, f"{attribute} eq {ScimFilter.quote(value)}", sort_by="meta.created")
        with self.session() as session:
            rows = session.connection().execute(statement, {"value": value}).all()
            return self._assemble(session, name, rows)

    def find(self, name: str, scim_filter: str, *, sort_by: str | None = None) -> list[Resource[Any]]:
        """Every resource of a type a filter matches, in the current transaction (for write hooks)."""
        request = parametrize(SearchRequest, self.models[name]).model_validate(
            {"filter": scim_filter, "sortBy": sort_by}
        )
        return self.search([self.types[name]], request).resources


def _build_mixed(
    session: Session | Connection, rows: Sequence[Any], parameters: ResponseParameters[Any], build: Builder
) -> list[Any]:
    """Resources (or documents) of several types, in the order of the rows."""
    by_type: dict[str, list[Any]] = {}
    for row in rows:
        by_type.setdefault(row.resource_type, []).append(row)
    built = {}
    for name, typed in by_type.items():
        for row, resource in zip(typed, build(session, name, typed, parameters), strict=True):
            built[row.pk] = resource
    return [built[row.pk] for row in rows]


def _sort_of(row: Any) -> Any:
    return getattr(row, "sort_value", None)
