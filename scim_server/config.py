"""Server settings: shipped defaults, then an optional TOML file, then ``SCIM_*`` environment variables.

Every setting is validated once, when the application is built, so that a
typo stops the server at start-up with the name of the key instead of
surfacing as a strange behaviour under load.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, validate
from marshmallow import fields as mfields

CONFIG_FILE_VARIABLE = "SCIM_CONFIG_FILE"
DEFAULT_DATABASE_URL = "sqlite:///instance/scim.db"


class ConfigurationError(RuntimeError):
    """The configuration cannot start a server; the message names the key."""


@dataclass(frozen=True)
class Settings:
    """The validated settings. Field names are the setting names without ``SCIM_``."""

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL. SQLite is the embedded default; PostgreSQL with ``postgresql+psycopg://``."""

    base_url: str | None = None
    """Public root of the SCIM endpoints (``https://idm.example.com/scim/v2``), used in
    ``meta.location`` when a reverse proxy hides the real host."""

    policy_file: str | None = None
    """The lifecycle policy (TOML); the shipped defaults apply without one."""

    secret_key: str | None = None
    """Seals pagination cursors. Left empty, one is generated once and kept in the
    database, so every process on that database shares it."""

    max_payload_size: int = 4 * 1024 * 1024
    """Largest request body in bytes (advertised as bulk ``maxPayloadSize``)."""

    bulk_max_operations: int = 1000
    """Most operations in one /Bulk request (advertised as ``maxOperations``)."""

    max_results: int = 1000
    """Most resources in one page (advertised as filter ``maxResults``)."""

    default_page_size: int = 100
    """Page size when a search asks for no ``count``."""

    scheduler_interval: float = 0.0
    """Seconds between in-process runs of due lifecycle transitions in each worker; 0 leaves it to
    ``scim-server lifecycle run-due`` (cron)."""

    auto_migrate: bool = True
    """Apply pending Alembic migrations when the application starts."""

    sqlite_busy_timeout: float = 30.0
    """Seconds a SQLite writer waits for another process's transaction to end."""

    log_level: str = "INFO"

    rate_limit: float = 0.0
    """Requests per second each client (token name) may send, shared by every process; 0 turns the limit off."""

    rate_limit_burst: int = 100
    """Requests a client may send at once before ``rate_limit`` paces it (the bucket's size)."""

    redis_url: str | None = None
    """Keep the rate limits in Redis (``redis://host:6379/0``) instead of the database."""

    metrics_public: bool = False
    """Serve ``/metrics`` without a token; by default it needs one with the ``metrics`` scope."""


def _off_or_at_least(value: float, minimum: float) -> None:
    """0 turns a feature off; anything else must be at least ``minimum`` (a rate of one request a year is a typo)."""
    if value != 0 and not value >= minimum:
        raise ValidationError(f"Must be 0 (off) or at least {minimum}.")


class _SettingsSchema(Schema):
    """Reads settings by their public names (``SCIM_DATABASE_URL``…)."""

    class Meta:
        unknown = RAISE

    SCIM_DATABASE_URL = mfields.String(attribute="database_url", validate=validate.Length(min=1))
    SCIM_BASE_URL = mfields.Url(attribute="base_url", require_tld=False, allow_none=True)
    SCIM_POLICY_FILE = mfields.String(attribute="policy_file", allow_none=True)
    SCIM_SECRET_KEY = mfields.String(attribute="secret_key", allow_none=True, validate=validate.Length(min=16))
    SCIM_MAX_PAYLOAD_SIZE = mfields.Integer(attribute="max_payload_size", validate=validate.Range(min=1024))
    SCIM_BULK_MAX_OPERATIONS = mfields.Integer(attribute="bulk_max_operations", validate=validate.Range(min=1))
    SCIM_MAX_RESULTS = mfields.Integer(attribute="max_results", validate=validate.Range(min=1))
    SCIM_DEFAULT_PAGE_SIZE = mfields.Integer(attribute="default_page_size", validate=validate.Range(min=1))
    SCIM_AUTO_MIGRATE = mfields.Boolean(attribute="auto_migrate")
    SCIM_SCHEDULER_INTERVAL = mfields.Float(attribute="scheduler_interval", validate=validate.Range(min=0))
    SCIM_SQLITE_BUSY_TIMEOUT = mfields.Float(attribute="sqlite_busy_timeout", validate=validate.Range(min=0))
    SCIM_LOG_LEVEL = mfields.String(
        attribute="log_level", validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"])
    )
    SCIM_RATE_LIMIT = mfields.Float(attribute="rate_limit", validate=lambda value: _off_or_at_least(value, 0.001))
    SCIM_RATE_LIMIT_BURST = mfields.Integer(attribute="rate_limit_burst", validate=validate.Range(min=1, max=1_000_000))
    SCIM_REDIS_URL = mfields.String(
        attribute="redis_url",
        allow_none=True,
        validate=validate.Regexp(r"^(redis|rediss|unix)://", error="must be a redis://, rediss:// or unix:// URL"),
    )
    SCIM_METRICS_PUBLIC = mfields.Boolean(attribute="metrics_public")


SETTING_NAMES = tuple(_SettingsSchema().fields)


def _read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError as exception:
        raise ConfigurationError(f"{CONFIG_FILE_VARIABLE}: no file at {path}") from exception
    except tomllib.TOMLDecodeError as exception:
        raise ConfigurationError(f"{CONFIG_FILE_VARIABLE}: {path} is not valid TOML: {exception}") from exception


def _validate(layer: Mapping[str, Any], origin: str, *, unknown: Literal["exclude", "raise"]) -> dict[str, Any]:
    try:
        return dict(_SettingsSchema(unknown=unknown).load(dict(layer)))
    except ValidationError as exception:
        problems = "; ".join(
            f"{key}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
            for key, messages in sorted(exception.normalized_messages().items())
        )
        raise ConfigurationError(f"invalid configuration in {origin}: {problems}") from exception


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Merge the layers, later ones winning: defaults, config file, environment, explicit overrides.

    The environment is read by prefix; variables such as ``SCIM_TEST_*`` that
    name no setting are left alone, whereas an unknown key in the config file
    is an error, since there it can only be a typo.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = (overrides or {}).get(CONFIG_FILE_VARIABLE) or environ.get(CONFIG_FILE_VARIABLE)
    if config_file:
        values.update(_validate(_read_file(str(config_file)), str(config_file), unknown=RAISE))
    env_layer = {key: value for key, value in environ.items() if key in SETTING_NAMES}
    values.update(_validate(env_layer, "the environment", unknown=EXCLUDE))
    explicit = {key: value for key, value in (overrides or {}).items() if key != CONFIG_FILE_VARIABLE}
    values.update(_validate(explicit, "the application config", unknown=RAISE))
    known = {field.name for field in fields(Settings)}
    return Settings(**{key: value for key, value in values.items() if key in known})


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a SQLite URL, or None for another database or an in-memory one."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        return None
    path = database_url[len(prefix) :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None
