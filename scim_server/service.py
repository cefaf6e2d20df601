"""The protocol service: scim2-server's ``ScimService`` with this server's choices.

- what the server announces (``ServiceProviderConfig``) and tolerates (``ScimPolicy``);
- scopes: ``read`` for queries, ``write`` for changes, checked per operation
  (so per operation of a /Bulk request too);
- ``/Me`` for tokens bound to a user;
- PATCH answers 200 with the resource, since several clients reject 204;
- request bodies pass through the client shims before validation.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from http import HTTPStatus
from typing import Any, TypeVar, Union, cast

from pydantic import ValidationError
from pydantic_core import from_json
from scim2_models import (
    AuthenticationScheme,
    BaseModel,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    External,
    Filter,
    ForbiddenException,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    NotImplementedException,
    Pagination,
    Patch,
    Reference,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimPolicy,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
)
from scim2_server.conditions import Conditions
from scim2_server.errors import MethodNotAllowedException
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation, Target
from scim2_server.service import ScimService, scim_exception_of
from scim2_server.storage import SearchPage
from scim2_server.utils import parametrize

from . import rendering, shims
from .config import Settings
from .tokens import Principal

ModelT = TypeVar("ModelT", bound=BaseModel)

READ_OPERATIONS = frozenset({Operation.query, Operation.search, Operation.search_with_body})

POLICY = ScimPolicy(
    # Microsoft Entra sends {"op": "Remove", "path": "members", "value": [{"value": id}]}
    # and means "remove these members", never "remove all of them".
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    # Entra writes emails[type eq "work"].value on a user without a work email.
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
"""What the server tolerates from clients, through scim2-models' own switches."""

BEARER = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="OAuth Bearer Token",
    description="Tokens issued with `scim-server tokens create`",
    spec_uri=Reference[External]("https://www.rfc-editor.org/rfc/rfc6750"),
    primary=True,
)


def service_provider_config(settings: Settings) -> ServiceProviderConfig:
    """What the server announces, from the settings that bound it."""
    return ServiceProviderConfig(
        documentation_uri=Reference[External]("https://github.com/scim-server/scim-server#readme"),
        patch=Patch(supported=True),
        bulk=Bulk(
            supported=True,
            max_operations=settings.bulk_max_operations,
            max_payload_size=settings.max_payload_size,
        ),
        filter=Filter(supported=True, max_results=settings.max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        pagination=Pagination(
            cursor=True,
            index=True,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_results,
            cursor_timeout=3600,
        ),
        authentication_schemes=[BEARER],
    )


@lru_cache(maxsize=256)
def _response_parameters(service: Service, name: str | None, attributes: str | None, excluded: str | None) -> Any:
    query = {k: v for k, v in (("attributes", attributes), ("excludedAttributes", excluded)) if v is not None}
    return ScimService.read_response_parameters(service, service.get_resource_type(str(name)), query)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class Service(ScimService):
    def __init__(
        self,
        *args: Any,
        user_type: ResourceType | None = None,
        read_only: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user_type = user_type
        self.read_only = read_only
        """Resource types clients may only read."""
        self.shim_server = shims.Server(self._endpoint_of, self._model_at)

    def _model_at(self, path: str) -> Any:
        segments = [segment for segment in path.split("/") if segment]
        resource_type = self.get_resource_type_by_endpoint(f"/{segments[0]}") if segments else None
        return self.get_model(resource_type) if resource_type is not None else None

    def _endpoint_of(self, name: str) -> str:
        return self.endpoint_of(self.get_resource_type(name))

    def authorize(self, request: ScimRequest, target: Target, resource_type: ResourceType) -> None:
        principal = request.subject
        if not isinstance(principal, Principal):
            raise UnauthorizedException(detail="a bearer token is required")
        scope = "read" if target.operation in READ_OPERATIONS else "write"
        if scope == "write" and resource_type.name in self.read_only:
            raise MethodNotAllowedException(allowed=["GET"], detail=f"{resource_type.endpoint} is read-only")
        if not principal.has(scope):
            raise ForbiddenException(detail=f"this token lacks the {scope!r} scope")

    def me_target(self, request: ScimRequest) -> tuple[ResourceType, str]:
        principal = request.subject
        if not isinstance(principal, Principal):
            raise UnauthorizedException(detail="a bearer token is required")
        if principal.user_id is None or self.user_type is None:
            raise NotImplementedException(detail="/Me needs a token bound to a user (tokens create --user ID)")
        return self.user_type, principal.user_id

    def patch_response(
        self, base_url: str, resource: Resource[Any], response_parameters: ResponseParameters[Any]
    ) -> ScimResponse:
        """Always 200 with the resource (RFC 7644 §3.5.2 allows it; Okta and scim-sanity expect it)."""
        return self.resource_response(
            self.publish(base_url, resource), Context.RESOURCE_REPLACEMENT_RESPONSE, response_parameters
        )

    def apply_patch(self, current: Resource[Any], patch_op: Any, conditions: Any) -> Resource[Any] | None:
        """As the library's, but a value the schema refuses is reported like in a POST: what and where,
        not pydantic's whole report."""
        try:
            return super().apply_patch(current, patch_op, conditions)
        except InvalidValueException as exception:
            if isinstance(exception.__cause__, ValidationError):
                raise scim_exception_of(exception.__cause__) from exception
            raise

    def read_response_parameters(self, resource_type: ResourceType, query: Any) -> Any:
        """As the library's, remembered per resource type and query: a few shapes recur on every request."""
        return _response_parameters(self, resource_type.name, query.get("attributes"), query.get("excludedAttributes"))

    def read_body(self, model: type[ModelT], body: bytes, content_type: str | None, scim_ctx: Context) -> ModelT:
        """Validate a body after the client shims had their say."""
        self.ensure_json(content_type)
        try:
            payload = from_json(body)
        except ValueError as exception:
            raise InvalidSyntaxException(detail=f"the body is not valid JSON: {exception}") from exception
        if _holds_nul(payload):
            # PostgreSQL cannot store U+0000 in text, and no identity attribute needs it.
            raise InvalidValueException(detail="strings must not contain the NUL character (U+0000)")
        try:
            return model.model_validate(shims.apply(payload, scim_ctx, model, self.shim_server), scim_ctx=scim_ctx)
        except ValidationError as exception:
            raise scim_exception_of(exception) from exception

    # -- Reads rendered from stored documents (see rendering.py) ----------------------

    def _locator(self, base_url: str) -> Any:
        """``reference_location``, remembering the URL prefix of each endpoint (a group lists thousands)."""
        prefixes: dict[str, str] = {}

        def locate(reference: str) -> str:
            endpoint, _, resource_id = reference.rpartition("/")
            prefix = prefixes.get(endpoint)
            if prefix is None:
                if "://" in reference or reference.startswith("/") or not endpoint:
                    return self.reference_location(base_url, reference)
                prefix = prefixes[endpoint] = self.reference_location(base_url, reference)[: -len(resource_id)]
            return prefix + resource_id

        return locate

    def render_document(
        self,
        base_url: str,
        document: dict[str, Any],
        response_parameters: Any,
        locate: Any = None,
    ) -> dict[str, Any]:
        """A stored document as the library would dump its published resource for these parameters."""
        resource_type, model = self._typed[document["meta"]["resourceType"]]
        node = rendering.projection(
            model,
            tuple(str(a) for a in getattr(response_parameters, "attributes", None) or ()),
            tuple(str(a) for a in getattr(response_parameters, "excluded_attributes", None) or ()),
        )
        document["meta"]["location"] = self.resource_location(base_url, resource_type, document["id"])
        if not self.etag_supported:
            document["meta"].pop("version", None)
        return rendering.render_resource(model, node, document, locate or self._locator(base_url))

    def document_response(
        self, base_url: str, document: dict[str, Any], response_parameters: Any, conditions: Conditions
    ) -> ScimResponse:
        """``query_response`` for a stored document: the resource, its ETag, or a 304."""
        version = document["meta"].get("version") if self.etag_supported else None
        if not conditions.check(version, "GET"):
            return ScimResponse(HTTPStatus.NOT_MODIFIED, None, {"ETag": version} if version else {})
        body = self.render_document(base_url, document, response_parameters)
        headers = {"Content-Location": document["meta"]["location"]}
        if version:
            headers["ETag"] = version
        return ScimResponse(HTTPStatus.OK, body, headers)

    @cached_property
    def _typed(self) -> dict[str, tuple[ResourceType, Any]]:
        """Each resource type, with its model, by name."""
        return {str(rt.name): (rt, self.get_model(rt)) for rt in self.provider.resource_types}

    @cached_property
    def _list_response(self) -> Any:
        """The ListResponse model of every resource type; parametrising it builds a class, so once only."""
        return parametrize(ListResponse, Union[tuple(self.get_models())])  # noqa: UP007

    def documents_response(
        self, base_url: str, resource_types: list[ResourceType], page: SearchPage, search_request: SearchRequest[Any]
    ) -> ScimResponse:
        """``search_response`` for stored documents: the library's envelope around the rendered resources."""
        by_cursor = search_request.cursor is not None
        if not by_cursor and page.total is None:
            raise ValueError("The storage gave no total for a search paged by index")
        next_cursor = previous_cursor = None
        if by_cursor and search_request.count != 0:
            next_cursor = self._seal(resource_types, search_request, page.next)
            previous_cursor = self._seal(resource_types, search_request, page.previous)
        locate = self._locator(base_url)
        documents = cast(list[dict[str, Any]], page.resources)
        resources = [self.render_document(base_url, document, search_request, locate) for document in documents]
        envelope = self._list_response(
            total_results=page.total,
            items_per_page=len(resources),
            start_index=None if by_cursor else search_request.start_index,
            next_cursor=next_cursor,
            previous_cursor=previous_cursor,
            resources=[],
        )
        body = envelope.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        body["Resources"] = resources
        return ScimResponse(HTTPStatus.OK, body)
