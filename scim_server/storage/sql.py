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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from scim2_models import (
    AttributeBinding,
    Meta,
    NotFoundException,
    PatchOp,
    Path,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimProvider,
    UniquenessException,
)
from scim2_server.storage import ScimStorage
from scim2_server.utils import parametrize
from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..actor import current_actor
from ..db import single_reads, utcnow
from ..policy import Policy
from ..registry import Registry
from ..testhooks import SLOW_WRITES, slow_write
from ..tokens import Principal
from .catalogue import Catalogue
from .documents import ROW, excluded_fields, kept, parse_version, timestamp, version_tag
from .index import Indexer, IndexPlan
from .mapping import Mapper
from .membership import Memberships
from .search import SqlSearch
from .tables import MemberRow, ResourceRow, ValueRow

RESOURCE_ID = re.compile(r"^[0-9a-f]{32}$")
BY_ID = select(*ROW).where(ResourceRow.id == bindparam("id"), ResourceRow.resource_type == bindparam("type"))
BY_ID_LOCKED = BY_ID.with_for_update(key_share=True)
BY_ID_DELETING = BY_ID.with_for_update()
"""A resource about to be deleted: FOR UPDATE, which waits for the writes that hold it referenced (FOR KEY SHARE:
a credential being created for a user, as a foreign key would) and makes the later ones wait for the deletion."""
INSERT_RESOURCE = insert(ResourceRow).returning(ResourceRow.pk)
INSERT_VALUES = insert(cast(Table, ValueRow.__table__))
UPDATE_RESOURCE = (
    update(ResourceRow)
    .where(ResourceRow.pk == bindparam("row_pk"))
    .values(
        data=bindparam("new_data", type_=ResourceRow.data.type),
        version=bindparam("new_version"),
        last_modified=bindparam("now", type_=ResourceRow.last_modified.type),
        modified_by=bindparam("actor"),
    )
)
TOUCH = (
    update(ResourceRow)
    .where(ResourceRow.pk.in_(bindparam("pks", expanding=True)))
    .values(
        version=ResourceRow.version + 1,
        last_modified=bindparam("now", type_=ResourceRow.last_modified.type),
        modified_by=bindparam("actor"),
    )
)
DELETE_VALUES = delete(ValueRow).where(ValueRow.resource_pk == bindparam("row_pk"))
OWNERS = "owners"
"""The label of the column carrying a resource's memberships owned by others (see ``owners_columns``)."""
"""A resource by id, and the same locked for a write: FOR NO KEY UPDATE, so that rows referencing it
(memberships) can still be inserted meanwhile. Built once, as every hot statement is."""
"""The ids this storage issues; anything else cannot name a stored resource."""


@dataclass(frozen=True)
class _Row:
    """A resource row as just written, read back without asking the database."""

    pk: int
    id: str
    created: datetime.datetime
    last_modified: datetime.datetime
    version: int
    data: dict[str, Any]


def _rows(session: Session) -> dict[tuple[str, str], Any]:
    """The resource rows a write transaction has read (locked) or written, by (type, id): read once."""
    rows: dict[tuple[str, str], Any] = session.info.setdefault("scim_rows", {})
    return rows


def _forget_rows(session: Session) -> None:
    session.info.pop("scim_rows", None)


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


class SqlStorage(SqlSearch, ScimStorage):
    """The storage of every resource type the registry declares."""

    supports_cursors = True

    def __init__(
        self, engine: Engine, registry: Registry, provider: ScimProvider, policy: Policy | None = None
    ) -> None:
        self.engine = engine
        self.policy = policy or Policy()
        self.clock: Callable[[], datetime.datetime] = utcnow
        """The time of writes and of the lifecycle rules; tests and back-fills set it."""
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
        self.reads = single_reads(engine)
        self._owners_columns: dict[str, list[Any]] = {}
        self._equal_statements: dict[tuple[str, str], Any] = {}
        self._reading = {name: self._read_statement(name) for name in self.types}
        """The statement reading a resource by id, with what others hold of it (its ``groups``), by type."""
        self.relation_fields = {schema: frozenset(names) for schema, names in skipped.items()}
        """Python fields kept out of documents and the value index, by schema: memberships live in their table."""
        self.indexer = Indexer(Catalogue(engine), self.relation_fields)
        self.mapper = Mapper(registry, self.plan)
        self.hooks = {name: registry.hooks_for(name) for name in self.types}
        self._excluded: dict[type[Any], dict[str, Any]] = {}
        self._session: ContextVar[Session | None] = ContextVar(f"scim_session_{id(self)}", default=None)
        self._writing: ContextVar[bool] = ContextVar(f"scim_writing_{id(self)}", default=False)
        self._bodiless: ContextVar[bool] = ContextVar(f"scim_bodiless_{id(self)}", default=False)
        self._patch: ContextVar[PatchOp[Any] | None] = ContextVar(f"scim_patch_{id(self)}", default=None)
        for name in self.types:
            self.plan(name)  # outside any transaction: the catalogue commits on its own

    def owners_columns(self, name: str) -> list[Any]:
        """The columns carrying a resource's memberships owned by others (``groups``) in a statement reading it.

        Not for pages that skip rows: the databases evaluate such a column for every row OFFSET skips, so
        those read their memberships with one query of their own instead.
        """
        columns = self._owners_columns.get(name)
        if columns is None:  # built once per type: building the subquery cost more than running it
            columns = []
            if name in self.reverse:
                _attribute, memberships = self.reverse[name]
                columns.append(memberships.owners_column(self.engine.dialect.name, ResourceRow.pk).label(OWNERS))
            self._owners_columns[name] = columns
        return columns

    def _read_statement(self, name: str) -> Any:
        return BY_ID.add_columns(*self.owners_columns(name))

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
    def bodiless(self) -> Iterator[None]:
        """Mark the writes inside as answered without a body (/Bulk operations: a location and a version):
        they return what they wrote with its meta, instead of reading the stored resource back."""
        token = self._bodiless.set(True)
        try:
            yield
        finally:
            self._bodiless.reset(token)

    @contextmanager
    def patching(self, patch: PatchOp[Any]) -> Iterator[None]:
        """Let the write hooks of the writes inside see the PATCH that causes them."""
        token = self._patch.set(patch)
        try:
            yield
        finally:
            self._patch.reset(token)

    def context(self, session: Session, *, now: datetime.datetime | None = None) -> WriteContext:
        return WriteContext(session, self, current_actor(), now or self.clock(), self.policy, self._patch.get())

    def endpoint(self, name: str) -> str:
        """The endpoint of a resource type without slashes (``Users``), for relative references."""
        return self.registry.resources[name].endpoint.strip("/")

    @contextmanager
    def operation(self) -> Iterator[None]:
        """One transaction, or a savepoint when one is already open (a bulk operation)."""
        current = self._session.get()
        if current is not None:
            try:
                with current.begin_nested():
                    yield
            except BaseException:
                _forget_rows(current)  # rolled back to the savepoint: what was read since may be gone
                raise
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

    def _locked(self, session: Session, name: str, resource_id: str, *, deleting: bool = False) -> Any:
        if not RESOURCE_ID.match(resource_id or ""):
            raise NotFoundException(detail=f"{name} not found")
        writing = self._writing.get()
        rows = _rows(session) if writing else None
        if rows is not None and not deleting and (row := rows.get((name, resource_id))) is not None:
            return row  # read (and locked) earlier in this write: a PATCH reads, then updates
        query = BY_ID
        if writing and self.engine.dialect.name == "postgresql":
            query = BY_ID_DELETING if deleting else BY_ID_LOCKED
        # Core on the session's connection: these reads need none of the ORM's work (nor does any storage read).
        row = session.connection().execute(query, {"id": resource_id, "type": name}).first()
        if row is None:
            raise NotFoundException(detail=f"{name} {resource_id!r} not found")
        if rows is not None and not deleting:
            rows[(name, resource_id)] = row
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
            # What others hold of it (a user's groups) is read-only: a write without an answer never needs it.
            owners = not self._bodiless.get()
            return self._assemble(session, name, [row], response_parameters, owners=owners)[0]

    def _keeps(self, name: str, attribute: str, parameters: ResponseParameters[Any] | None) -> bool:
        """Whether a response keeps an attribute, so the storage need not read what is not returned."""
        if parameters is None or (not parameters.attributes and not parameters.excluded_attributes):
            return True
        return kept(
            self.models[name],
            attribute,
            tuple(map(str, parameters.attributes or ())),
            tuple(map(str, parameters.excluded_attributes or ())),
        )

    def get_document(
        self, resource_type: ResourceType, resource_id: str, response_parameters: ResponseParameters[Any] | None = None
    ) -> dict[str, Any]:
        """``get``, as the stored document of the resource instead of a model (see ``rendering``)."""
        name = self._type_name(resource_type)
        if not RESOURCE_ID.match(resource_id or ""):
            raise NotFoundException(detail=f"{name} not found")
        parameters = {"id": resource_id, "type": name}
        session = self._session.get()
        if session is not None:
            return self._document_of(session.connection(), name, resource_id, parameters, response_parameters)
        # A read on its own: the resource and its memberships owned by others in one statement, which needs
        # no transaction around it (Group.members, when returned, is one more).
        with self.reads.connect() as connection:
            return self._document_of(connection, name, resource_id, parameters, response_parameters)

    def _document_of(
        self,
        connection: Connection,
        name: str,
        resource_id: str,
        parameters: dict[str, str],
        response_parameters: ResponseParameters[Any] | None,
    ) -> dict[str, Any]:
        row = connection.execute(self._reading[name], parameters).first()
        if row is None:
            raise NotFoundException(detail=f"{name} {resource_id!r} not found")
        return self._documents(connection, name, [row], response_parameters)[0]

    def _assemble(
        self,
        session: Session | Connection,
        name: str,
        rows: Sequence[Any],
        parameters: ResponseParameters[Any] | None = None,
        *,
        relations: bool = True,
        owners: bool = True,
    ) -> list[Resource[Any]]:
        model = self.models[name]
        documents = self._documents(session, name, rows, parameters, relations=relations, owners=owners)
        return [model.model_validate(data) for data in documents]

    def _documents(
        self,
        reader: Session | Connection,
        name: str,
        rows: Sequence[Any],
        parameters: ResponseParameters[Any] | None = None,
        *,
        relations: bool = True,
        owners: bool = True,
    ) -> list[dict[str, Any]]:
        """The documents of rows of one type, with id, meta and their memberships.

        Memberships come from the rows when their statement carried them (``OWNERS``), else from one query
        per membership.
        """
        connection = reader.connection() if isinstance(reader, Session) else reader
        related: dict[str, dict[int, list[dict[str, Any]]]] = {}
        pks = [row.pk for row in rows]
        if relations and name in self.memberships:
            membership = self.memberships[name]
            if self._keeps(name, membership.membership.attribute, parameters):
                related[membership.membership.attribute] = membership.members_of(connection, pks)
        if relations and owners and name in self.reverse:
            attribute, memberships = self.reverse[name]
            if self._keeps(name, attribute, parameters):
                if rows and hasattr(rows[0], OWNERS):
                    related[attribute] = {row.pk: memberships.owners_entries(getattr(row, OWNERS)) for row in rows}
                else:
                    related[attribute] = memberships.owners_of(connection, pks)
        documents = []
        for row in rows:
            data = dict(row.data)
            data["id"] = row.id
            data["meta"] = {
                "resourceType": name,
                "created": timestamp(row.created),
                "lastModified": timestamp(row.last_modified),
                "version": version_tag(row.version),
            }
            for attribute, values in related.items():
                if values.get(row.pk):
                    data[attribute] = values[row.pk]
            documents.append(data)
        return documents

    # -- Writing ------------------------------------------------------------

    def _document(self, name: str, resource: Resource[Any]) -> dict[str, Any]:
        """The JSON kept for a resource: what it holds but its identity, meta, relations and write-only values."""
        model = type(resource)
        excluded = self._excluded.get(model)
        if excluded is None:
            excluded = self._excluded[model] = excluded_fields(
                model, self.relation_fields.get(str(model.__schema__), ())
            )
        return resource.model_dump(mode="json", exclude=excluded)

    def _index(self, session: Session, name: str, pk: int, resource: Resource[Any]) -> None:
        rows = list(self.plan(name).rows(resource, pk))
        if rows:
            # Core on the connection, not the ORM's bulk insert: one executemany, whatever columns are empty.
            session.connection().execute(INSERT_VALUES, rows)

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

    def create(
        self, resource_type: ResourceType, resource: Resource[Any], *, hooks: bool = True, read_back: bool = True
    ) -> Resource[Any]:
        """Store a new resource; its id is chosen first, so that write hooks can refer to it.

        ``read_back=False`` answers with the written resource and its meta instead of the stored form: for
        writes whose answer carries no body (a /Bulk operation's is its location and version) or is not read
        at all (the events a hook records).
        """
        name = self._type_name(resource_type)
        with self.session() as session:
            resource_id = uuid.uuid4().hex
            resource = resource.model_copy(update={"id": resource_id})
            if hooks:
                resource = self._run_hooks(session, name, None, resource)
            now = self.clock()
            actor = current_actor().client
            document = self._document(name, resource)
            connection = session.connection()
            try:
                pk = connection.execute(
                    INSERT_RESOURCE,
                    {
                        "id": resource_id,
                        "resource_type": name,
                        "created": now,
                        "last_modified": now,
                        "version": 1,
                        "created_by": actor,
                        "modified_by": actor,
                        "data": document,
                    },
                ).scalar_one()
                self._index(session, name, pk, resource)
            except IntegrityError as exception:
                raise UniquenessException(detail="a resource already has this unique value") from exception
            self._write_relations(session, name, pk, resource, replace=False)
            if SLOW_WRITES:  # test-only (scim_server.testhooks)
                slow_write()
            if not read_back or self._bodiless.get():
                resource.meta = Meta(resource_type=name, created=now, last_modified=now, version=version_tag(1))
                return resource
            # A new resource belongs to nothing yet: only what it owns (a group's members) is read back.
            row = _Row(pk, resource_id, now, now, 1, document)
            return self._assemble(session, name, [row], owners=False)[0]

    def touch(self, session: Session, pks: Sequence[int]) -> datetime.datetime:
        """A new version and lastModified for resources whose relations changed; returns that lastModified."""
        now = self.clock()
        if pks:
            _forget_rows(session)  # their versions change
            session.connection().execute(TOUCH, {"pks": list(pks), "now": now, "actor": current_actor().client})
        return now

    def resource_of(
        self, session: Session, name: str, row: Any, parameters: ResponseParameters[Any] | None = None
    ) -> Resource[Any]:
        """The resource a row read by ``stored_row`` holds, with what ``parameters`` keep of its relations."""
        return self._assemble(session, name, [row], parameters)[0]

    @staticmethod
    def touched(row: Any, now: datetime.datetime) -> Any:
        """A row as ``touch`` left it, without reading it again."""
        return _Row(row.pk, row.id, row.created, now, row.version + 1, row.data)

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
            now = self.clock()
            if changed:
                try:
                    connection = session.connection()
                    connection.execute(
                        UPDATE_RESOURCE,
                        {
                            "row_pk": row.pk,
                            "new_data": document,
                            "new_version": row.version + 1,
                            "now": now,
                            "actor": current_actor().client,
                        },
                    )
                    connection.execute(DELETE_VALUES, {"row_pk": row.pk})
                    self._index(session, name, row.pk, resource)
                except IntegrityError as exception:
                    raise UniquenessException(detail="a resource already has this unique value") from exception
                if SLOW_WRITES:  # test-only (scim_server.testhooks)
                    slow_write()
            if relations and self._write_relations(session, name, row.pk, resource, replace=True) and not changed:
                row = self.touched(row, self.touch(session, [row.pk]))
            elif changed:
                row = _Row(row.pk, row.id, row.created, now, row.version + 1, document)
                _rows(session)[(name, row.id)] = row
            if self._bodiless.get():
                resource.meta = Meta(
                    resource_type=name,
                    created=row.created,
                    last_modified=row.last_modified,
                    version=version_tag(row.version),
                )
                return resource
            return self._assemble(session, name, [row])[0]

    def delete(self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None) -> None:
        name = self._type_name(resource_type)
        with self.session() as session:
            row = self._locked(session, name, resource_id, deleting=True)
            if expected_version is not None and parse_version(expected_version) != row.version:
                raise PreconditionFailedException
            self._run_hooks(session, name, self._before(session, name, row), None)
            _forget_rows(session)
            owners = session.scalars(select(MemberRow.owner_pk).where(MemberRow.member_pk == row.pk)).all()
            self.touch(session, owners)
            session.execute(delete(ResourceRow).where(ResourceRow.pk == row.pk))

    # -- Membership deltas -------------------------------------------------------

    def membership(self, name: str) -> Memberships | None:
        return self.memberships.get(name)

    def stored_row(self, session: Session, name: str, resource_id: str) -> Any:
        """The row of a resource, locked when the operation writes (membership deltas need its pk)."""
        return self._locked(session, name, resource_id)

    def lock(self, name: str, resource_ids: Sequence[str], *, share: bool = False) -> bool:
        """Lock resources a write will change but did not read through ``get`` (a cascade's credentials),
        in one statement and a stable order, waiting for their concurrent writers to commit. ``share``
        only keeps them from being deleted meanwhile (FOR KEY SHARE, a foreign key's lock: a credential's
        holder), without waiting for or holding up their other writes.

        True when it locked: read them again then, since READ COMMITTED shows each statement what was
        committed before it. False where there is nothing to lock: SQLite serialises its writers already.
        """
        if not resource_ids or not self._writing.get() or self.engine.dialect.name != "postgresql":
            return False
        with self.session() as session:
            session.connection().execute(
                select(ResourceRow.pk)
                .where(ResourceRow.resource_type == name, ResourceRow.id.in_(list(resource_ids)))
                .order_by(ResourceRow.pk)
                .with_for_update(read=share, key_share=True)
            )
        return True
