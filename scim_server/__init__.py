"""A SCIM 2.0 provisioning server. ``create_app`` builds it; see README for the shape.

config → database (migrated) → registry of resource types → storage →
SCIM blueprint (scim2-flask) → health checks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import Flask
from pydantic import ValidationError
from scim2_models import ScimProvider, SearchRequest
from scim2_server.utils import parametrize
from sqlalchemy import Engine

from . import admin, db, health, metrics, observe, ratelimit, requestlog
from .api import ScimApi
from .config import Settings, load_settings
from .policy import Policy, PolicyError, load_policy
from .registry import Plugin, Registry, load_registry
from .service import POLICY, Service, service_provider_config
from .storage.sql import SqlStorage
from .tokens import Principal, authenticate

__all__ = ["ScimServerState", "create_app"]


@dataclass
class ScimServerState:
    """What the application keeps in ``app.extensions["scim_server"]``."""

    settings: Settings
    engine: Engine
    registry: Registry
    storage: SqlStorage
    policy: Policy
    limiter: ratelimit.RateLimiter | None = None

    def authenticate(self, token: str) -> Principal | None:
        with self.reads.connect() as connection:
            return authenticate(connection, token)

    def admit(self, principal: Principal) -> None:
        """Count an authenticated request against its client's rate limit (``RateLimitExceeded`` when over)."""
        if self.limiter is not None:
            self.limiter.check(principal.client)

    @cached_property
    def reads(self) -> Engine:
        return db.single_reads(self.engine)


def create_app(config: Mapping[str, Any] | None = None, plugins: Iterable[Plugin] | None = None) -> Flask:
    """Build the application: one call, everything validated before the first request."""
    settings = load_settings(config)
    logging.basicConfig(level=settings.log_level)
    app = Flask(__name__, static_folder=None)  # no /static route: every route is the API's, and authenticated
    app.config["MAX_CONTENT_LENGTH"] = settings.max_payload_size

    registry = load_registry(plugins)
    provider = registry.provider(service_provider_config(settings), POLICY)
    policy = load_policy(settings.policy_file)
    check_role_mappings(policy, provider, registry.principal_type)

    engine = db.make_engine(settings)
    try:
        if settings.auto_migrate:
            db.upgrade(engine)
        app.secret_key = settings.secret_key or db.shared_secret(engine)
        storage = SqlStorage(engine, registry, provider, policy)
        limiter = ratelimit.make_limiter(settings, db.single_reads(engine))
    except BaseException:
        engine.dispose()
        raise
    user_type = next((rt for rt in provider.resource_types if rt.name == registry.principal_type), None)
    read_only = frozenset(name for name, declaration in registry.resources.items() if declaration.read_only)
    service = Service(provider, secret=app.secret_key, user_type=user_type, read_only=read_only)

    state = ScimServerState(settings, engine, registry, storage, policy, limiter)
    app.extensions["scim_server"] = state
    ScimApi(
        storage,
        provider,
        service=service,
        base_url=settings.base_url,
        authenticate=state.authenticate,
        admit=state.admit,
    ).init_app(app)
    health.init_app(app)
    metrics.init_app(app)
    requestlog.init_logger()
    resource_types = {rt.endpoint.strip("/"): rt.name for rt in provider.resource_types if rt.endpoint and rt.name}
    observe.init_app(app, [requestlog.log_request, metrics.record], resource_types)
    admin.init_app(app, registry.admin_blueprints)
    for startup in registry.startups:
        startup(state)
    return app


def check_role_mappings(policy: Policy, provider: ScimProvider, principal_type: str | None) -> None:
    """Role-mapping filters must name attributes users have: a typo would silently grant nothing."""
    model = provider.model_for(principal_type) if principal_type else None
    for index, mapping in enumerate(policy.role_mappings):
        if model is None:
            raise PolicyError("roleMappings: no resource type holds users to map roles to")
        try:
            parametrize(SearchRequest, model).model_validate({"filter": mapping.filter})
        except ValidationError as exception:
            raise PolicyError(
                f"invalid policy: roleMappings.{index}.filter: {exception.errors()[0]['msg']}"
            ) from exception
