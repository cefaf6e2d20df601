"""Fixtures: one migrated database per session (SQLite by default, PostgreSQL with
``SCIM_TEST_DATABASE_URL``), emptied after each test; the app; a SCIM client
that talks HTTP through Flask's test client; factories for users and groups."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from extensions.lifecycle.approvals import ApprovalRow
from extensions.lifecycle.due import DueRow
from scim_server import ScimServerState, create_app
from scim_server.storage.tables import MemberRow, ResourceRow, ValueRow
from scim_server.tokens import TokenRow, create_token

SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIFECYCLE = "urn:scim-server:schemas:extension:lifecycle:2.0:User"
CREDENTIAL = "urn:scim-server:schemas:2.0:Credential"
EVENT = "urn:scim-server:schemas:2.0:LifecycleEvent"


def _ensure_postgres_database(url: str) -> None:
    """Create the test database on the server if it does not exist yet."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("SCIM_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'scim.db'}"
    if url.startswith("postgresql"):
        _ensure_postgres_database(url)
        engine = create_engine(url)
        with engine.begin() as connection:  # a clean slate: previous runs may have left a schema behind
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"SCIM_DATABASE_URL": database_url, "SCIM_LOG_LEVEL": "WARNING"})
    yield app
    app.extensions["scim_server"].engine.dispose()


@pytest.fixture(scope="session")
def state(app: Flask) -> ScimServerState:
    return app.extensions["scim_server"]


@pytest.fixture(autouse=True)
def _empty_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from an empty database (the attribute catalogue and settings stay)."""
    yield
    if "state" not in request.fixturenames:
        return
    state: ScimServerState = request.getfixturevalue("state")
    with Session(state.engine) as session, session.begin():
        for table in (MemberRow, ValueRow, ResourceRow, TokenRow, ApprovalRow, DueRow):
            session.execute(delete(table))


@pytest.fixture
def make_token(state: ScimServerState) -> Any:
    def make(client: str = "tests", scopes: tuple[str, ...] = ("read", "write"), **options: Any) -> str:
        with Session(state.engine) as session, session.begin():
            return create_token(session, client, scopes, **options)

    return make


class ScimClient:
    """HTTP as a SCIM client speaks it: paths under /scim/v2, a bearer token, SCIM JSON."""

    def __init__(self, flask_client: FlaskClient, token: str | None) -> None:
        self.flask = flask_client
        self.token = token

    def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> TestResponse:
        all_headers = {"Accept": SCIM}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if json is not None:
            all_headers["Content-Type"] = SCIM
        all_headers.update(headers or {})
        return self.flask.open("/scim/v2" + path, method=method, json=json, headers=all_headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, json=json, **kwargs)

    def patch(
        self, path: str, operations: list[dict[str, Any]] | None = None, json: Any = None, **kwargs: Any
    ) -> TestResponse:
        body = json if json is not None else {"schemas": [PATCH_OP], "Operations": operations}
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    def search(self, path: str = "/Users", **params: Any) -> TestResponse:
        return self.request("GET", path, query_string=params)


@pytest.fixture
def client(app: Flask, make_token: Any) -> ScimClient:
    return ScimClient(app.test_client(), make_token())


@pytest.fixture
def anonymous(app: Flask) -> ScimClient:
    return ScimClient(app.test_client(), None)


def ok(response: TestResponse, status: int = 200) -> Any:
    """The JSON of a response that must have this status; the body explains a failure."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json() if response.data else None


def error(response: TestResponse, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """A SCIM error response with this status (and scimType), never an HTML page."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], body
    assert str(body["status"]) == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


@pytest.fixture
def make_user(client: ScimClient) -> Any:
    counter = iter(range(1_000_000))

    def make(user_name: str | None = None, **attributes: Any) -> dict[str, Any]:
        body = {"schemas": [USER], "userName": user_name or f"user{next(counter)}", **attributes}
        return ok(client.post("/Users", body), 201)

    return make


@pytest.fixture
def make_group(client: ScimClient) -> Any:
    counter = iter(range(1_000_000))

    def make(display_name: str | None = None, members: list[str] = (), **attributes: Any) -> dict[str, Any]:
        body = {
            "schemas": [GROUP],
            "displayName": display_name or f"group{next(counter)}",
            "members": [{"value": member} for member in members],
            **attributes,
        }
        return ok(client.post("/Groups", body), 201)

    return make


@pytest.fixture
def snapshot(state: ScimServerState) -> Any:
    """Everything stored, to prove a refused request changed nothing."""

    def take() -> tuple[Any, ...]:
        with Session(state.engine) as session:
            return tuple(
                tuple(tuple(row) for row in session.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2, 3")))
                for table in ("scim_resource", "scim_value", "scim_member")
            )

    return take


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def policy_app(database_url: str, tmp_path: Path, state: Any, make_token: Any) -> Iterator[Callable[..., ScimClient]]:
    """A server on the same database under another policy file; returns a client factory."""
    apps: list[Flask] = []

    def build(policy: str, client_name: str = "tests", scopes: tuple[str, ...] = ("read", "write")) -> ScimClient:
        if not apps:
            path = tmp_path / "policy.toml"
            path.write_text(policy)
            apps.append(
                create_app(
                    {"SCIM_DATABASE_URL": database_url, "SCIM_POLICY_FILE": str(path), "SCIM_LOG_LEVEL": "ERROR"}
                )
            )
        return ScimClient(apps[0].test_client(), make_token(client_name, scopes))

    yield build
    for app in apps:
        app.extensions["scim_server"].engine.dispose()
