"""Alembic environment: migrations run on the engine the application built (see ``scim_server.db.upgrade``)."""

from __future__ import annotations

from alembic import context

from scim_server.db import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
