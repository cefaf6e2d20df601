"""The database: engine, connection settings per dialect, migrations, and the shared secret.

SQLite and PostgreSQL are both first-class. SQLite gets the pragmas a server
needs (WAL, foreign keys, a busy timeout, case-sensitive LIKE so that
``caseExact`` attributes compare exactly); PostgreSQL gets nothing special.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, Engine, String, create_engine, event, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .config import Settings, sqlite_path

MIGRATIONS = Path(__file__).parent / "migrations"
ADVISORY_LOCK = 0x5C1A5E  # any constant shared by every process migrating one PostgreSQL database


class Base(DeclarativeBase):
    """Metadata of every table; Alembic migrations own the schema, this is the typed view of it."""


class UTCDateTime(TypeDecorator[datetime.datetime]):
    """Timestamps stored as naive UTC, read back as aware UTC.

    SQLite has no time zones; storing UTC everywhere keeps comparisons in SQL
    (``meta.lastModified gt "…"``) identical on both databases.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, datetime.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(datetime.UTC)
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, datetime.datetime):
            return value.replace(tzinfo=datetime.UTC)
        return value


class Setting(Base):
    """Server-wide values shared by every process on the database, such as the cursor secret."""

    __tablename__ = "scim_setting"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(512))


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def json_dumps(value: Any) -> str:
    """Documents as orjson writes them (several times faster than json, for every write and read), with json
    for what orjson refuses: an integer beyond 64 bits that a client sent."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def make_engine(settings: Settings) -> Engine:
    """Create the engine, with the per-connection settings of its dialect."""
    url = settings.database_url
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        pool_pre_ping=not url.startswith("sqlite"),
        json_serializer=json_dumps,
        json_deserializer=orjson.loads,
    )
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, settings.sqlite_busy_timeout)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is switched off so that
        # SQLAlchemy's BEGIN (or our BEGIN IMMEDIATE for writes) is the one sent.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA case_sensitive_like = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers ask for BEGIN IMMEDIATE (see SqlStorage.operation): taking the
        # write lock up front avoids the deadlock of two readers upgrading.
        begin = connection.get_execution_options().get("sqlite_begin", "BEGIN")
        if begin:  # None: a single-statement read, which needs no transaction (see ``single_reads``)
            connection.exec_driver_sql(begin)


def single_reads(engine: Engine) -> Engine:
    """The engine for reads of one statement, which need no transaction: no BEGIN and ROLLBACK around them.

    On PostgreSQL that is autocommit. On SQLite the driver already runs without implicit transactions (see
    above), so only our BEGIN is left out; switching it to AUTOCOMMIT would make the reset that follows turn
    the driver's implicit transactions back on.
    """
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin=None)
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def insert_ignoring_duplicates(engine_or_dialect: Any, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the dialect of the engine."""
    name = getattr(getattr(engine_or_dialect, "dialect", engine_or_dialect), "name", "")
    return (pg_insert if name == "postgresql" else sqlite_insert)(table).on_conflict_do_nothing()


# -- Migrations -----------------------------------------------------------


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    return _current_revision(engine) == head


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Let one process migrate at a time: several workers start at once."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK})
                connection.commit()
        return
    path = sqlite_path(str(engine.url))
    if path is None:
        yield
        return
    with open(f"{path}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; cheap when it already is."""
    if is_up_to_date(engine):
        return
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), "head")


# -- Shared secret ---------------------------------------------------------


def shared_secret(engine: Engine) -> str:
    """The cursor secret every process on this database agrees on, created on first use."""
    with engine.begin() as connection:
        connection.execute(
            insert_ignoring_duplicates(engine, Setting.__table__).values(
                name="secret_key", value=secrets.token_urlsafe(48)
            )
        )
        return str(connection.execute(select(Setting.value).where(Setting.name == "secret_key")).scalar_one())
