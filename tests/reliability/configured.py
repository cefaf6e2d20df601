"""Applications on the suite's database under other settings (rate limits, public metrics).

Two applications built on one database stand for two server processes: they
share nothing but the database (and Redis, when configured), exactly as
gunicorn workers or hosts do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import delete

from scim_server import create_app
from scim_server.ratelimit import RateLimitRow


class Apps:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.built: list[Flask] = []

    def build(self, **settings: Any) -> Flask:
        """An application with ``SCIM_<KEY>`` settings from keyword arguments: ``build(rate_limit=1)``."""
        config = {"SCIM_DATABASE_URL": self.database_url, "SCIM_LOG_LEVEL": "WARNING"}
        config.update({f"SCIM_{key.upper()}": value for key, value in settings.items()})
        app = create_app(config)
        self.built.append(app)
        return app

    def close(self) -> None:
        for app in self.built:
            state = app.extensions["scim_server"]
            with state.engine.begin() as connection:  # buckets outlive the test otherwise
                connection.execute(delete(RateLimitRow))
            if state.limiter is not None and hasattr(state.limiter.backend, "close"):
                state.limiter.backend.close()
            state.engine.dispose()


@contextmanager
def configured_apps(database_url: str) -> Iterator[Apps]:
    apps = Apps(database_url)
    try:
        yield apps
    finally:
        apps.close()
