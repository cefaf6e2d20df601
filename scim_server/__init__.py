"""A SCIM 2.0 provisioning server. ``create_app`` builds it; see README for the shape.

config → database (migrated) → registry of resource types → storage →
SCIM blueprint (scim2-flask) → health checks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from . import db, health
from .api import ScimApi
from .config import Settings, load_settings
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

    def authenticate(self, token: str) -> Principal | None:
        with Session(self.engine) as session:
            return authenticate(session, token)


def create_app(config: Mapping[str, Any] | None = None, plugins: Iterable[Plugin] | None = None) -> Flask:
    """Build the application: one call, everything validated before the first request."""
    settings = load_settings(config)
    logging.basicConfig(level=settings.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_payload_size

    engine = db.make_engine(settings)
    if settings.auto_migrate:
        db.upgrade(engine)
    app.secret_key = settings.secret_key or db.shared_secret(engine)

    registry = load_registry(plugins)
    provider = registry.provider(service_provider_config(settings), POLICY)
    storage = SqlStorage(engine, registry, provider)
    user_type = next((rt for rt in provider.resource_types if rt.name == registry.principal_type), None)
    service = Service(provider, secret=app.secret_key, user_type=user_type)

    state = ScimServerState(settings, engine, registry, storage)
    app.extensions["scim_server"] = state
    ScimApi(storage, provider, service=service, base_url=settings.base_url, authenticate=state.authenticate).init_app(
        app
    )
    health.init_app(app)
    return app
