"""The request handler: scim2-server's ``ScimHandler``, with writes locked and membership PATCHed by delta.

The library applies a PATCH by reading the whole resource, patching it in
memory and writing it back. For a group that means reading every member to
add one. Here, the operations a PATCH makes on ``members`` are split off and
applied as statements on the membership rows; the rest of the PATCH goes
through the library as usual, on the group read without its members.
Shapes of ``members`` operations with no delta equivalent (a replace through
a value filter, a sub-attribute path) fall back to the library's way, which
is correct for any shape, only slower.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError
from scim2_models import (
    InvalidPathException,
    PatchOp,
    PatchOperation,
    Path,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimFilter,
)
from scim2_models.path import ValuePath
from scim2_server.conditions import Conditions
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import scim_exception_of
from scim2_server.utils import parametrize

from .service import Service
from .storage.filters import SqlFilter
from .storage.mapping import RelationEntries, resource_table
from .storage.membership import Memberships
from .storage.sql import SqlStorage

Op = PatchOperation.Op


@dataclass(frozen=True)
class MemberChange:
    """One operation on a membership: add, replace or remove entries, or remove what a filter selects."""

    op: Op
    entries: list[Any] | None = None
    path: Path[Any] | None = None


def _entries(value: Any, model: type[Any]) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    try:
        return [model.model_validate(item) if isinstance(item, dict) else item for item in items if item is not None]
    except ValidationError as exception:  # {"primary": false} is no member: a 400, as on the library's path
        raise scim_exception_of(exception) from exception


class Handler(ScimHandler):
    storage: SqlStorage
    service: Service

    def _writing(self, serve: Callable[[ScimRequest], ScimResponse], request: ScimRequest) -> ScimResponse:
        with self.storage.writing():
            return serve(request)

    def create(self, request: ScimRequest) -> ScimResponse:
        return self._writing(super().create, request)

    def replace(self, request: ScimRequest) -> ScimResponse:
        return self._writing(super().replace, request)

    def delete(self, request: ScimRequest) -> ScimResponse:
        return self._writing(super().delete, request)

    def bulk(self, request: ScimRequest) -> ScimResponse:
        """One transaction for the request, a savepoint per operation: a failed operation is undone alone,
        and 1,000 operations cost one commit, not 1,000."""
        with self.service.provider:
            self.service.route(request, Operation.bulk)
            # Validated before the transaction opens: on SQLite the write lock is held while the
            # operations run, not while another worker's request is parsed.
            plan = self.service.read_bulk(request.body, request.header("Content-Type"))
            with self.storage.writing(), self.storage.bodiless(), self.storage.operation():
                for step in plan:
                    result, resource = self.run_bulk_step(request, plan, step)
                    plan.record(step, result, resource)
            return self.service.bulk_response(plan)

    def query(self, request: ScimRequest) -> ScimResponse:
        """As the library's, but the answer is rendered from the stored document (see ``rendering``)."""
        with self.service.provider:
            target = self.service.route(request, Operation.query)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
            response_parameters = self.service.read_response_parameters(resource_type, request.query)
            document = self.storage.get_document(resource_type, cast(str, target.resource_id), response_parameters)
            response = self.service.document_response(
                request.base_url, document, response_parameters, self.service.read_conditions(request)
            )
            return self.service.me_response(request, target, response)

    def search(self, request: ScimRequest) -> ScimResponse:
        """As the library's, but the resources are rendered from their stored documents."""
        with self.service.provider:
            target = self.service.route(request, Operation.search)
            resource_types = self.service.searched_types(target.endpoint)
            authorized = self.service.authorized_types(request, target, resource_types)
            search_request, position = self.service.read_search_query(resource_types, request.query)
            return self._search(request, resource_types, authorized, search_request, position)

    def search_with_body(self, request: ScimRequest) -> ScimResponse:
        """As the library's, but the resources are rendered from their stored documents."""
        with self.service.provider:
            target = self.service.route(request, Operation.search_with_body)
            resource_types = self.service.searched_types(target.endpoint)
            authorized = self.service.authorized_types(request, target, resource_types)
            search_request, position = self.service.read_search_body(
                resource_types, request.body, request.header("Content-Type")
            )
            return self._search(request, resource_types, authorized, search_request, position)

    def _search(
        self,
        request: ScimRequest,
        resource_types: list[ResourceType],
        authorized: list[ResourceType],
        search_request: Any,
        position: Any,
    ) -> ScimResponse:
        page = self.storage.search_documents(authorized, search_request, position=position)  # opens what it needs
        return self.service.documents_response(request.base_url, resource_types, page, search_request)

    def patch(self, request: ScimRequest) -> ScimResponse:
        """As the library's, but the response parameters reach the storage read that builds the answer."""
        with self.storage.writing(), self.service.provider:
            target = self.service.route(request, Operation.patch)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
            response_parameters = self.service.read_response_parameters(resource_type, request.query)
            patch_op = self.service.read_patch(resource_type, request.body, request.header("Content-Type"))
            with self.storage.operation():
                resource = self.patch_resource(
                    resource_type,
                    cast(str, target.resource_id),
                    patch_op,
                    self.service.read_conditions(request),
                    response_parameters=response_parameters,
                )
            response = self.service.patch_response(request.base_url, resource, response_parameters)
            return self.service.me_response(request, target, response)

    def patch_resource(
        self,
        resource_type: ResourceType,
        resource_id: str,
        patch_op: PatchOp[Any],
        conditions: Conditions,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        with self.storage.patching(patch_op):
            return self._patch_resource(resource_type, resource_id, patch_op, conditions, response_parameters)

    def _patch_resource(
        self,
        resource_type: ResourceType,
        resource_id: str,
        patch_op: PatchOp[Any],
        conditions: Conditions,
        response_parameters: ResponseParameters[Any] | None,
    ) -> Resource[Any]:
        name = str(resource_type.name)
        memberships = self.storage.membership(name)
        if memberships is None:
            return super().patch_resource(resource_type, resource_id, patch_op, conditions)
        split = self._split(patch_op, memberships)
        if split is None:
            return super().patch_resource(resource_type, resource_id, patch_op, conditions)
        changes, others = split
        attribute = memberships.membership.attribute
        model = self.storage.models[name]
        without_members = parametrize(ResponseParameters, model).model_validate({"excludedAttributes": [attribute]})
        with self.storage.session() as session:
            # One read of the (locked) row serves the preconditions, the other operations and the answer.
            row = self.storage.stored_row(session, name, resource_id)
            current = self.storage.resource_of(session, name, row, without_members)
            assert current.meta is not None and current.meta.version is not None
            version = current.meta.version
            self.service.check_preconditions(current, "PATCH", conditions)
            changed = bool(others) and patch_op.model_copy(update={"operations": others}).patch(current)
            members_changed = False
            for change in changes:
                members_changed |= self._apply(session, name, row.pk, change, memberships)
            if changed:
                self.storage.update(resource_type, current, expected_version=version, relations=False)
                return self.storage.get(resource_type, resource_id, response_parameters=response_parameters)
            if members_changed:
                row = self.storage.touched(row, self.storage.touch(session, [row.pk]))
            return self.storage.resource_of(session, name, row, response_parameters)

    def _split(self, patch_op: PatchOp[Any], memberships: Memberships) -> tuple[list[MemberChange], list[Any]] | None:
        """The membership changes and the other operations of a PATCH.

        None when a membership operation has a shape with no delta form, which the library's path then handles.
        """
        attribute = memberships.membership.attribute.lower()
        changes: list[MemberChange] = []
        others: list[Any] = []
        for operation in patch_op.operations or []:
            if operation.path is None:
                if not isinstance(operation.value, dict):
                    others.append(operation)
                    continue
                rest = {}
                for key, value in operation.value.items():
                    if _names(key, attribute):
                        changes.append(MemberChange(operation.op, entries=value or []))
                    else:
                        rest[key] = value
                if rest:
                    others.append(operation.model_copy(update={"value": rest}))
                continue
            binding = operation.path.resolve()
            if binding is None or binding.field_name != memberships.field_name:
                others.append(operation)
                continue
            if binding.sub_field_name is not None:
                return None
            if operation.path.value_filter is not None:
                if operation.op != Op.remove:
                    return None
                changes.append(MemberChange(Op.remove, path=operation.path))
                continue
            if operation.op == Op.remove and operation.value is None:
                changes.append(MemberChange(Op.remove))
            else:
                changes.append(MemberChange(operation.op, entries=operation.value))
        return changes, others

    def _apply(self, session: Any, name: str, pk: int, change: MemberChange, memberships: Memberships) -> bool:
        if change.path is not None:
            return self._remove_selected(session, name, pk, change.path, memberships)
        if change.entries is None:
            return memberships.remove(session, pk)
        entries = _entries(change.entries, cast(type[Any], memberships.entry_model))
        members = memberships.resolve(session, pk, entries, strict=change.op != Op.remove)
        if change.op == Op.add:
            return memberships.add(session, pk, members)
        if change.op == Op.replace_:
            return memberships.replace(session, pk, members)
        return memberships.remove(session, pk, [m.pk for m in members])

    def _remove_selected(self, session: Any, name: str, pk: int, path: Path[Any], memberships: Memberships) -> bool:
        """``remove members[value eq "…"]``: the value filter compiled against the membership rows."""
        binding = path.resolve()
        node = path.ast
        if binding is None or path.value_filter is None or not isinstance(node, ValuePath):
            raise InvalidPathException(path=str(path))
        entries = self.storage.mapper.entries(name, binding, resource_table)
        assert isinstance(entries, RelationEntries)
        scim_filter = parametrize(ScimFilter, self.storage.models[name])(str(path.value_filter))
        condition = SqlFilter(
            scim_filter, self.storage.mapper, name, resource_table, entries=entries, head=(node.attr_path, binding)
        ).visit(path.value_filter)
        return memberships.remove_selected(session, pk, entries.selected(pk, condition))


def _names(key: str, attribute: str) -> bool:
    """Whether a path-less PATCH key names the attribute (``members`` or ``urn:…:Group:members``)."""
    key = key.strip().lower()
    return key == attribute or key.endswith(":" + attribute)
