"""SqlStorage: scim2-server's ``ScimStorage`` contract on SQLAlchemy, for SQLite and PostgreSQL.

One ``operation()`` is one database transaction: a single request, or one
operation of a /Bulk request. Everything a write does — the document, its
index rows, memberships, and whatever the registered write hooks add — is
committed together or not at all.

Writes are serialised per resource: on PostgreSQL the row is read ``FOR
UPDATE``, on SQLite the transaction starts with ``BEGIN IMMEDIATE``. So a
PATCH without ``If-Match`` never fails because another process wrote in
between, and one with ``If-Match`` gets 412 exactly when it should.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from scim2_models import (
    AttributeBinding,
    NotFoundException,
    PatchOp,
    Path,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimProvider,
    SearchRequest,
    UniquenessException,
)
from scim2_server.storage import ScimStorage, SearchPage
from scim2_server.utils import parametrize
from sqlalchemy import ColumnElement, Engine, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..actor import current_actor
from ..db import utcnow
from ..policy import Policy
from ..registry import Registry
from ..tokens import Principal
from .catalogue import Catalogue
from .filters import compile_filter
from .index import Indexer, IndexPlan, is_hidden
from .mapping import Mapper, resource_table
from .membership import Memberships
from .paging import NEXT, PREVIOUS, Ordering, read_position
from .paging import position as position_of
from .tables import MemberRow, ResourceRow, ValueRow

VERSION_TAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')
RESOURCE_ID = re.compile(r"^[0-9a-f]{32}$")
ROW = (
    ResourceRow.pk,
    ResourceRow.id,
    ResourceRow.created,
    ResourceRow.last_modified,
    ResourceRow.version,
    ResourceRow.data,
)
"""What ``_assemble`` reads of a resource row."""
"""The ids this storage issues; anything else cannot name a stored resource."""


def version_tag(version: int) -> str:
    return f'W/"{version}"'


def parse_version(tag: str | None) -> int | None:
    match = VERSION_TAG.match(tag or "")
    return int(match.group(1)) if match else None


@dataclass
class WriteContext:
    """What a write hook gets: the open transaction, who is acting, when, and under which policy."""

    session: Session
    storage: SqlStorage
    actor: Principal
    now: datetime.datetime
    policy: Policy
    patch: PatchOp[Any] | None = None
    """The PATCH being applied, when the write is one: hooks may need to know what the client named."""


class SqlStorage(ScimStorage):
    """The storage of every resource type the registry declares."""

    supports_cursors = True

    def __init__(
        self, engine: Engine, registry: Registry, provider: ScimProvider, policy: Policy | None = None
    ) -> None:
        self.engine = engine
        self.policy = policy or Policy()
        self.registry = registry
        self.provider = provider
        self.types = {str(rt.name): rt for rt in provider.resource_types}
        self.models: dict[str, type[Resource[Any]]] = {
            name: cast(type[Resource[Any]], provider.model_for(rt)) for name, rt in self.types.items()
        }
        endpoints = {name: d.endpoint.strip("/") for name, d in registry.resources.items()}
        self.memberships: dict[str, Memberships] = {}
        self.reverse: dict[str, tuple[str, Memberships]] = {}
        skipped: dict[str, set[str]] = {}
        for m in registry.memberships:
            store = Memberships(m, endpoints, self._binding(m.owner, m.attribute))
            self.memberships[m.owner] = store
            skipped.setdefault(str(self.models[m.owner].__schema__), set()).add(store.field_name)
            if m.reverse:
                member_type, attribute = m.reverse
                self.reverse[member_type] = (attribute, store)
                field_name = self._binding(member_type, attribute).field_name
                skipped.setdefault(str(self.models[member_type].__schema__), set()).add(field_name)
        self.relation_fields = {schema: frozenset(names) for schema, names in skipped.items()}
        """Python fields kept out of documents and the value index, by schema: memberships live in their table."""
        self.indexer = Indexer(Catalogue(engine), self.relation_fields)
        self.mapper = Mapper(registry, self.plan)
        self.hooks = {name: registry.hooks_for(name) for name in self.types}
        self._excluded: dict[type[Any], dict[str, Any]] = {}
        self._session: ContextVar[Session | None] = ContextVar(f"scim_session_{id(self)}", default=None)
        self._writing: ContextVar[bool] = ContextVar(f"scim_writing_{id(self)}", default=False)
        self._patch: ContextVar[PatchOp[Any] | None] = ContextVar(f"scim_patch_{id(self)}", default=None)
        for name in self.types:
            self.plan(name)  # outside any transaction: the catalogue commits on its own

    def _binding(self, resource_type: str, attribute: str) -> AttributeBinding:
        binding = parametrize(Path, self.models[resource_type])(attribute).resolve()
        if binding is None:
            raise ValueError(f"{resource_type} has no attribute {attribute!r} to hold a membership")
        return binding

    # -- Transactions -----------------------------------------------------

    def plan(self, resource_type: str) -> IndexPlan:
        return self.indexer.plan(self.models[resource_type])

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Mark the operations opened inside as writes: they take the write lock up front."""
        token = self._writing.set(True)
        try:
            yield
        finally:
            self._writing.reset(token)

    @contextmanager
    def patching(self, patch: PatchOp[Any]) -> Iterator[None]:
        """Let the write hooks of the writes inside see the PATCH that causes them."""
        token = self._patch.set(patch)
        try:
            yield
        finally:
            self._patch.reset(token)

    def context(self, session: Session) -> WriteContext:
        return WriteContext(session, self, current_actor(), utcnow(), self.policy, self._patch.get())

    def endpoint(self, name: str) -> str:
        """The endpoint of a resource type without slashes (``Users``), for relative references."""
        return self.registry.resources[name].endpoint.strip("/")

    @contextmanager
    def operation(self) -> Iterator[None]:
        """One transaction, or a savepoint when one is already open (a bulk operation)."""
        current = self._session.get()
        if current is not None:
            with current.begin_nested():
                yield
            return
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session:
            if self._writing.get() and self.engine.dialect.name == "sqlite":
                session.connection(execution_options={"sqlite_begin": "BEGIN IMMEDIATE"})
            token = self._session.set(session)
            try:
                yield
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                self._session.reset(token)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The session of the current operation, or a transaction of its own outside one."""
        current = self._session.get()
        if current is not None:
            yield current
            return
        with self.operation():
            yield self._session.get()  # type: ignore[misc]

    # -- Reading ------------------------------------------------------------

    def _type_name(self, resource_type: ResourceType) -> str:
        return str(resource_type.name)

    def _locked(self, session: Session, name: str, resource_id: str) -> Any:
        if not RESOURCE_ID.match(resource_id or ""):
            raise NotFoundException(detail=f"{name} not found")
        query = select(*ROW).where(ResourceRow.id == resource_id, ResourceRow.resource_type == name)
        if self._writing.get() and self.engine.dialect.name == "postgresql":
            # FOR NO KEY UPDATE: rows that reference this one (memberships) can still be inserted meanwhile.
            query = query.with_for_update(key_share=True)
        row = session.execute(query).first()
        if row is None:
            raise NotFoundException(detail=f"{name} {resource_id!r} not found")
        return row

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        name = self._type_name(resource_type)
        with self.session() as session:
            row = self._locked(session, name, resource_id)
            return self._assemble(session, name, [row], response_parameters)[0]

    def _keeps(self, name: str, attribute: str, parameters: ResponseParameters[Any] | None) -> bool:
        """Whether a response keeps an attribute, so the storage need not read what is not returned."""
        if parameters is None or (not parameters.attributes and not parameters.excluded_attributes):
            return True
        return _kept(
            self.models[name],
            attribute,
            tuple(map(str, parameters.attributes or ())),
            tuple(map(str, parameters.excluded_attributes or ())),
        )

    def _assemble(
        self,
        session: Session,
        name: str,
        rows: Sequence[Any],
        parameters: ResponseParameters[Any] | None = None,
        *,
        relations: bool = True,
    ) -> list[Resource[Any]]:
        """Build the resources of rows of one type, with their memberships in one query per membership."""
        model = self.models[name]
        related: dict[str, dict[int, list[dict[str, Any]]]] = {}
        pks = [row.pk for row in rows]
        if relations and name in self.memberships:
            membership = self.memberships[name]
            if self._keeps(name, membership.membership.attribute, parameters):
                related[membership.membership.attribute] = membership.members_of(session, pks)
        if relations and name in self.reverse:
            attribute, memberships = self.reverse[name]
            if self._keeps(name, attribute, parameters):
                related[attribute] = memberships.owners_of(session, pks)
        resources = []
        for row in rows:
            data = dict(row.data)
            data["id"] = row.id
            data["meta"] = {
                "resourceType": name,
                "created": row.created,
                "lastModified": row.last_modified,
                "version": version_tag(row.version),
            }
            for attribute, values in related.items():
                if values.get(row.pk):
                    data[attribute] = values[row.pk]
            resources.append(model.model_validate(data))
        return resources

    # -- Writing ------------------------------------------------------------

    def _document(self, name: str, resource: Resource[Any]) -> dict[str, Any]:
        """The JSON kept for a resource: what it holds but its identity, meta, relations and write-only values."""
        model = type(resource)
        excluded = self._excluded.get(model)
        if excluded is None:
            excluded = self._excluded[model] = _excluded(model, self.relation_fields.get(str(model.__schema__), ()))
        return resource.model_dump(mode="json", exclude=excluded)

    def _index(self, session: Session, name: str, pk: int, resource: Resource[Any]) -> None:
        rows = list(self.plan(name).rows(resource, pk))
        if rows:
            session.execute(insert(ValueRow), rows)

    def _run_hooks(self, session: Session, name: str, before: Any, after: Any) -> Any:
        """Run the write hooks on a copy of the new state (the caller's stays untouched); return what to store."""
        if not self.hooks[name]:
            return after
        after = after.model_copy(deep=True) if after is not None else None
        context = self.context(session)
        for hook in self.hooks[name]:
            hook(context, name, before, after)
        return after

    def _before(self, session: Session, name: str, row: Any) -> Any:
        """The stored state a hook compares with, read only when a hook will look at it."""
        if not self.hooks[name]:
            return None
        return self._assemble(session, name, [row], relations=False)[0]

    def _write_relations(self, session: Session, name: str, pk: int, resource: Resource[Any], *, replace: bool) -> bool:
        membership = self.memberships.get(name)
        if membership is None:
            return False
        entries = getattr(resource, membership.field_name, None) or []
        members = membership.resolve(session, pk, entries)
        if replace:
            return membership.replace(session, pk, members)
        return membership.add(session, pk, members)

    def create(self, resource_type: ResourceType, resource: Resource[Any], *, hooks: bool = True) -> Resource[Any]:
        """Store a new resource; its id is chosen first, so that write hooks can refer to it."""
        name = self._type_name(resource_type)
        with self.session() as session:
            resource = resource.model_copy(update={"id": uuid.uuid4().hex})
            if hooks:
                resource = self._run_hooks(session, name, None, resource)
            now = utcnow()
            actor = current_actor().client
            try:
                pk = session.execute(
                    insert(ResourceRow)
                    .values(
                        id=resource.id,
                        resource_type=name,
                        created=now,
                        last_modified=now,
                        version=1,
                        created_by=actor,
                        modified_by=actor,
                        data=self._document(name, resource),
                    )
                    .returning(ResourceRow.pk)
                ).scalar_one()
                self._index(session, name, pk, resource)
            except IntegrityError as exception:
                raise UniquenessException(detail="a resource already has this unique value") from exception
            self._write_relations(session, name, pk, resource, replace=False)
            return self._reload(session, name, pk)

    def _reload(self, session: Session, name: str, pk: int) -> Resource[Any]:
        row = session.execute(select(*ROW).where(ResourceRow.pk == pk)).one()
        return self._assemble(session, name, [row])[0]

    def touch(self, session: Session, pks: Sequence[int]) -> None:
        """A new version and lastModified for resources whose relations changed."""
        if pks:
            session.execute(
                update(ResourceRow)
                .where(ResourceRow.pk.in_(list(pks)))
                .values(version=ResourceRow.version + 1, last_modified=utcnow(), modified_by=current_actor().client)
            )

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
        relations: bool = True,
        hooks: bool = True,
    ) -> Resource[Any]:
        """Replace a stored resource.

        ``relations=False`` leaves its membership alone (PATCH deltas apply
        it); ``hooks=False`` is for the hooks' own engines, which have already
        applied their rules to the resource.
        """
        name = self._type_name(resource_type)
        with self.session() as session:
            row = self._locked(session, name, str(resource.id))
            if expected_version is not None and parse_version(expected_version) != row.version:
                raise PreconditionFailedException
            if hooks:
                resource = self._run_hooks(session, name, self._before(session, name, row), resource)
            document = self._document(name, resource)
            # A write the hooks turned into a no-op (a repeated request) keeps the version.
            changed = document != row.data
            if changed:
                try:
                    session.execute(
                        update(ResourceRow)
                        .where(ResourceRow.pk == row.pk)
                        .values(
                            data=document,
                            version=row.version + 1,
                            last_modified=utcnow(),
                            modified_by=current_actor().client,
                        )
                    )
                    session.execute(delete(ValueRow).where(ValueRow.resource_pk == row.pk))
                    self._index(session, name, row.pk, resource)
                except IntegrityError as exception:
                    raise UniquenessException(detail="a resource already has this unique value") from exception
            if relations and self._write_relations(session, name, row.pk, resource, replace=True) and not changed:
                self.touch(session, [row.pk])
            return self._reload(session, name, row.pk)

    def delete(self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None) -> None:
        name = self._type_name(resource_type)
        with self.session() as session:
            row = self._locked(session, name, resource_id)
            if expected_version is not None and parse_version(expected_version) != row.version:
                raise PreconditionFailedException
            self._run_hooks(session, name, self._before(session, name, row), None)
            owners = session.scalars(select(MemberRow.owner_pk).where(MemberRow.member_pk == row.pk)).all()
            self.touch(session, owners)
            session.execute(delete(ResourceRow).where(ResourceRow.pk == row.pk))

    # -- Searching ------------------------------------------------------------

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        names = list(dict.fromkeys(self._type_name(rt) for rt in resource_types))
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
        with self.session() as session:
            total = session.execute(select(func.count()).select_from(resource).where(where)).scalar_one()
            count = search_request.count
            if search_request.cursor is None:
                start = search_request.start_index_0 or 0
                query = base.order_by(*ordering.order_by()).offset(start)
                empty = count == 0 or start >= total
                rows = [] if empty else session.execute(query if count is None else query.limit(count)).all()
                return SearchPage(total, self._assemble_mixed(session, rows, search_request))
            if count == 0:
                return SearchPage(total, [])
            anchor = read_position(position) if position is not None else None
            limit = count if count is not None else total
            rows = list(session.execute(ordering.page(base, anchor, limit)).all())
            more = len(rows) > limit
            rows = rows[:limit]
            forward = anchor is None or anchor.direction == NEXT
            if not forward:
                rows.reverse()
            page = SearchPage(total, self._assemble_mixed(session, rows, search_request))
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

    def _exists_beyond(self, session: Session, base: Any, ordering: Ordering, row: Any, *, forward: bool) -> bool:
        anchor = read_position(position_of(NEXT if forward else PREVIOUS, _sort_of(row), row.pk))
        query = base.with_only_columns(resource_table.c.pk).where(ordering.beyond(anchor, forward=forward)).limit(1)
        return session.execute(query).first() is not None

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

    def _assemble_mixed(
        self, session: Session, rows: Sequence[Any], parameters: ResponseParameters[Any]
    ) -> list[Resource[Any]]:
        """Resources of several types, in the order of the rows."""
        by_type: dict[str, list[Any]] = {}
        for row in rows:
            by_type.setdefault(row.resource_type, []).append(row)
        built = {}
        for name, typed in by_type.items():
            for row, resource in zip(typed, self._assemble(session, name, typed, parameters), strict=True):
                built[row.pk] = resource
        return [built[row.pk] for row in rows]

    def find(self, name: str, scim_filter: str, *, sort_by: str | None = None) -> list[Resource[Any]]:
        """Every resource of a type a filter matches, in the current transaction (for write hooks)."""
        request = parametrize(SearchRequest, self.models[name]).model_validate(
            {"filter": scim_filter, "sortBy": sort_by}
        )
        return self.search([self.types[name]], request).resources

    # -- Membership deltas -------------------------------------------------------

    def membership(self, name: str) -> Memberships | None:
        return self.memberships.get(name)

    def locked_pk(self, session: Session, name: str, resource_id: str) -> Any:
        return self._locked(session, name, resource_id)


def _sort_of(row: Any) -> Any:
    return getattr(row, "sort_value", None)


@lru_cache(maxsize=1024)
def _kept(model: type[Any], attribute: str, attributes: tuple[str, ...], excluded: tuple[str, ...]) -> bool:
    parameters = parametrize(ResponseParameters, model).model_validate(
        {"attributes": list(attributes) or None, "excludedAttributes": list(excluded) or None}
    )
    paths = parametrize(Path, model).iter_paths(
        include_subattributes=False,
        attributes=parameters.attributes,
        excluded_attributes=parameters.excluded_attributes,
    )
    return any(path.attr.split(".")[0].lower() == attribute.lower() for path in paths)


def _excluded(model: type[Any], relations: Iterable[str]) -> dict[str, Any]:
    """Fields kept out of a stored document, as pydantic's ``exclude`` argument."""
    excluded: dict[str, Any] = {"id": True, "meta": True}
    for name in relations:
        excluded[name] = True
    for path in parametrize(Path, model).iter_paths(include_subattributes=False):
        binding = path.resolve()
        if binding is None or not is_hidden(binding):
            continue
        if binding.model is model or not hasattr(model, binding.model.__name__):
            excluded[binding.field_name] = True
        else:
            excluded.setdefault(binding.model.__name__, {})[binding.field_name] = True
    return excluded
