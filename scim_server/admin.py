"""The admin API: JSON under ``/admin``, the same bearer tokens, marshmallow in and out.

Errors are ``{"error": "...", "detail": "..."}`` with the right status, in one
place: ``admin_blueprint`` gives every admin blueprint — this module's and
the ones extensions register — the same authentication and error handling.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from scim2_models import SCIMException
from werkzeug.exceptions import HTTPException

from .actor import set_actor
from .tokens import Principal

log = logging.getLogger(__name__)


class AdminError(Exception):
    """An admin API failure: HTTP status, a short machine-readable error, and a sentence for people."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def principal(scope: str | None = None) -> Principal:
    """The authenticated principal of the request, holding ``scope`` when one is given."""
    found: Principal | None = g.get("admin_principal")
    if found is None:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        state = current_app.extensions["scim_server"]
        found = state.authenticate(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if found is None:
            raise AdminError(401, "unauthorized", "a valid bearer token is required")
        g.admin_principal = found
        set_actor(found)
        state.admit(found)  # the rate limit: RateLimitExceeded, a 429 with Retry-After
    if scope is not None and not found.has(scope):
        raise AdminError(403, "forbidden", f"this token lacks the {scope!r} scope")
    return found


def _error(status: int, error: str, detail: str) -> ResponseReturnValue:
    response = jsonify(error=error, detail=detail)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="SCIM"'
    return response


def admin_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint for ``/admin`` routes with the admin API's error handling."""
    blueprint = Blueprint(name, import_name)

    @blueprint.errorhandler(AdminError)
    def _admin(exception: AdminError) -> ResponseReturnValue:
        return _error(exception.status, exception.error, exception.detail)

    @blueprint.errorhandler(ValidationError)
    def _invalid(exception: ValidationError) -> ResponseReturnValue:
        return _error(400, "invalid_request", str(exception.normalized_messages()))

    @blueprint.errorhandler(SCIMException)
    def _scim(exception: SCIMException) -> ResponseReturnValue:
        error = exception.scim_type or HTTPStatus(exception.status).phrase.lower().replace(" ", "_")
        return _error(exception.status, error, exception.detail)

    @blueprint.errorhandler(HTTPException)
    def _http(exception: HTTPException) -> ResponseReturnValue:
        response = _error(
            exception.code or 500, (exception.name or "error").lower().replace(" ", "_"), exception.description or ""
        )
        for key, value in exception.get_headers():  # Retry-After of a 429, Allow of a 405
            if key.lower() != "content-type":
                response.headers[key] = value  # type: ignore[union-attr]
        return response

    @blueprint.errorhandler(Exception)
    def _unexpected(exception: Exception) -> ResponseReturnValue:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return _error(500, "internal_error", "internal server error")

    @blueprint.teardown_request
    def _forget(_error: Any) -> None:
        set_actor(None)

    return blueprint


core = admin_blueprint("admin", __name__)


@core.get("/policy")
def policy() -> ResponseReturnValue:
    """The effective policy, in the policy file's shape."""
    principal("admin")
    return jsonify(current_app.extensions["scim_server"].policy.as_dict())


def init_app(app: Flask, blueprints: list[Blueprint]) -> None:
    for blueprint in [core, *blueprints]:
        app.register_blueprint(blueprint, url_prefix="/admin")
