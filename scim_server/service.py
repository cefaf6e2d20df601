"""The protocol service: scim2-server's ``ScimService`` with this server's choices.

- what the server announces (``ServiceProviderConfig``) and tolerates (``ScimPolicy``);
- scopes: ``read`` for queries, ``write`` for changes, checked per operation
  (so per operation of a /Bulk request too);
- ``/Me`` for tokens bound to a user;
- PATCH answers 200 with the resource, since several clients reject 204;
- request bodies pass through the client shims before validation.
"""

from __future__ import annotations

from typing import Any, TypeVar

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
    NotImplementedException,
    Pagination,
    Patch,
    Reference,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
)
from scim2_server.errors import MethodNotAllowedException
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation, Target
from scim2_server.service import ScimService, scim_exception_of

from . import shims
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
