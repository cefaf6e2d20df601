"""Tokens, as an attacker would test them: nothing to steal at rest, nothing to time, no route without a scope
check, no revocation that waits, no token in a log line, and errors that tell nothing about the server or
about other clients.

The route table below is checked against ``app.url_map``: a route added without an entry fails
``test_every_route_is_in_the_scope_table`` until someone decides which scope it needs.
"""

from __future__ import annotations

import ast
import datetime
import hmac
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

from scim_server import create_app
from scim_server.tokens import SCOPES, TOKEN_PREFIX, TokenRow, create_token, digest, revoke_tokens
from tests.conftest import BULK, CREDENTIAL, GROUP, PATCH_OP, SCIM, USER, ScimClient, error, ok, project_root

SCIM_SERVER = Path(sys.executable).with_name("scim-server")
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
FORGED = "scim_" + "A" * 43


def _secret_parts(token: str) -> list[str]:
    """The token, and its secret part past the hint that ``tokens list`` shows (``scim_`` and 4 characters)."""
    return [token, token[len(TOKEN_PREFIX) + 4 :]]


# -- At rest ------------------------------------------------------------------------------------


def _everything_stored(state: Any) -> str:
    """Every column of every row of every table, as text."""
    with state.engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        return "\n".join(
            f"{table}: " + " | ".join(map(str, row))
            for table in tables
            for row in connection.execute(text(f'SELECT * FROM "{table}"'))
        )


def test_no_table_holds_a_token_in_plain_text(
    app: Flask, state: Any, make_token: Any, database_url: str, make_user: Any
) -> None:
    tokens = [make_token("hr", ("read", "write")), make_token("idp", ("read",), expires_in_days=30)]
    cli = _cli(database_url, "tokens", "create", "from-cli", "--scope", "admin")
    tokens.append(cli.stdout.strip())
    for token in tokens:  # used, so that whatever a request stores (rate limits, logs, actors) is there too
        response = ScimClient(app.test_client(), token).search("/Users")
        assert response.status_code in (200, 403)
    make_user("bjensen")

    stored = _everything_stored(state)
    for token in tokens:
        for part in _secret_parts(token):
            assert part not in stored
        assert digest(token) in stored  # what is there instead


# -- Comparison ---------------------------------------------------------------------------------


def test_a_token_is_looked_up_by_its_digest_and_compared_in_constant_time(
    app: Flask, state: Any, make_token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = make_token()
    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append(f"{statement} {parameters!r}")

    comparisons: list[tuple[Any, Any]] = []
    compare = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        comparisons.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    event.listen(state.engine, "before_cursor_execute", record)
    try:
        ok(ScimClient(app.test_client(), token).search("/Users"))
        error(ScimClient(app.test_client(), FORGED).search("/Users"), 401)
    finally:
        event.remove(state.engine, "before_cursor_execute", record)

    sent = "\n".join(statements)
    assert digest(token) in sent and digest(FORGED) in sent
    for part in [*_secret_parts(token), *_secret_parts(FORGED)]:
        assert part not in sent  # the database never sees a token, so its timing cannot tell one
    assert (digest(token), digest(token)) in comparisons


SECRET_NAMES = re.compile(r"token|secret|digest|hash|password|signature", re.IGNORECASE)
SQL_EQUALITIES = {
    'TokenRow.token_hash == bindparam("token_hash")',  # the indexed lookup by digest, in SQL
    "TokenRow.client == client",  # a client's name, which is not secret
    'Setting.name == "secret_key"',  # the name of a setting
}


def test_no_secret_is_compared_with_equality_in_python() -> None:
    """``==`` on secrets returns at the first differing character; ``hmac.compare_digest`` does not."""
    found = []
    for package in ("scim_server", "extensions", "resources"):
        for path in sorted((project_root() / package).rglob("*.py")):
            source = path.read_text()
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                    segment = ast.get_source_segment(source, node) or ""
                    if SECRET_NAMES.search(segment) and segment not in SQL_EQUALITIES:
                        found.append(f"{path.relative_to(project_root())}:{node.lineno}: {segment}")
    assert not found, "compare secrets with hmac.compare_digest:\n" + "\n".join(found)


# -- Scopes on every route ----------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request to a route, and what it needs: a scope, or any valid token (``scope=None``).

    ``everyone`` is the status every valid token gets (a read-only endpoint's 405, /Me's POST 501).
    ``operation`` is a /Bulk operation, authorised on its own: the request answers 200 and the operation
    carries the 403.
    """

    method: str
    path: str
    scope: str | None
    body: Any = None
    everyone: int | None = None
    operation: dict[str, Any] | None = None


PUBLIC = {
    ("/scim/v2/ServiceProviderConfig", "GET"),
    ("/scim/v2/ResourceTypes", "GET"),
    ("/scim/v2/ResourceTypes/<resource_id>", "GET"),
    ("/scim/v2/Schemas", "GET"),
    ("/scim/v2/Schemas/<resource_id>", "GET"),
    ("/healthz", "GET"),
    ("/readyz", "GET"),
}
"""Routes without a token (README, Security): discovery and the health checks."""

_serials = iter(range(1_000_000))


def _bodies(user_id: str) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per resource type, a body to create one and one to replace the world's."""
    serial = next(_serials)
    return {
        "User": (
            {"schemas": [USER], "userName": f"created{serial}"},
            {"schemas": [USER], "userName": "bjensen"},
        ),
        "Group": ({"schemas": [GROUP], "displayName": f"group{serial}"}, {"schemas": [GROUP], "displayName": "g"}),
        "Credential": (
            {
                "schemas": [CREDENTIAL],
                "type": "card",
                "state": "active",
                "user": {"value": user_id},
                "serialNumber": f"SN-{serial}",
            },
            {"schemas": [CREDENTIAL], "type": "card", "state": "active", "user": {"value": user_id}},
        ),
    }


def scope_table(state: Any, world: dict[str, str]) -> dict[tuple[str, str], Callable[[], list[Call]]]:
    """(route, method) → the calls that exercise it. Resource routes are called for every resource type."""
    types = [
        (str(rt.name), str(rt.endpoint), state.registry.resources[str(rt.name)].read_only)
        for rt in state.storage.provider.resource_types
    ]
    ids = {"User": world["user"], "Group": world["group"], "Credential": world["credential"]}
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "externalId", "value": "x"}]}

    def each_type(method: str, suffix: str, needs: str, body: Callable[[str], Any] = lambda _name: None) -> list[Call]:
        return [
            Call(
                method,
                "/scim/v2" + endpoint + suffix.format(id=ids.get(name, "missing")),
                needs,
                body(name),
                everyone=405 if read_only and needs == "write" else None,
            )
            for name, endpoint, read_only in types
        ]

    def bodies(index: int) -> Callable[[str], Any]:
        return lambda name: _bodies(world["user"]).get(name, ({}, {}))[index]

    def bulk() -> list[Call]:
        operations = [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": bodies(0)("User")},
            {"method": "PUT", "path": f"/Users/{world['user']}", "data": bodies(1)("User")},
            {"method": "PATCH", "path": f"/Users/{world['user']}", "data": patch},
            {"method": "DELETE", "path": "/Users/missing"},
        ]
        return [
            Call("POST", "/scim/v2/Bulk", "write", {"schemas": [BULK], "Operations": [operation]}, operation=operation)
            for operation in operations
        ]

    return {
        ("/scim/v2/<resource_endpoint>", "GET"): lambda: each_type("GET", "", "read"),
        ("/scim/v2/<resource_endpoint>", "POST"): lambda: each_type("POST", "", "write", bodies(0)),
        ("/scim/v2/<resource_endpoint>/<resource_id>", "GET"): lambda: each_type("GET", "/{id}", "read"),
        ("/scim/v2/<resource_endpoint>/<resource_id>", "PUT"): lambda: each_type("PUT", "/{id}", "write", bodies(1)),
        ("/scim/v2/<resource_endpoint>/<resource_id>", "PATCH"): lambda: each_type(
            "PATCH", "/{id}", "write", lambda _name: patch
        ),
        ("/scim/v2/<resource_endpoint>/<resource_id>", "DELETE"): lambda: [
            Call(c.method, c.path.rsplit("/", 1)[0] + "/missing", c.scope, everyone=c.everyone)
            for c in each_type("DELETE", "/{id}", "write")
        ],
        ("/scim/v2/<resource_endpoint>/.search", "POST"): lambda: each_type(
            "POST", "/.search", "read", lambda _name: {"schemas": [SEARCH]}
        ),
        ("/scim/v2/.search", "POST"): lambda: [Call("POST", "/scim/v2/.search", "read", {"schemas": [SEARCH]})],
        ("/scim/v2/", "GET"): lambda: [Call("GET", "/scim/v2/", "read")],
        ("/scim/v2/Bulk", "POST"): bulk,
        ("/scim/v2/Me", "GET"): lambda: [Call("GET", "/scim/v2/Me", "read")],
        ("/scim/v2/Me", "PUT"): lambda: [Call("PUT", "/scim/v2/Me", "write", {"schemas": [USER], "userName": "me"})],
        ("/scim/v2/Me", "PATCH"): lambda: [Call("PATCH", "/scim/v2/Me", "write", patch)],
        ("/scim/v2/Me", "DELETE"): lambda: [Call("DELETE", "/scim/v2/Me", "write")],
        ("/scim/v2/Me", "POST"): lambda: [Call("POST", "/scim/v2/Me", None, bodies(0)("User"), everyone=501)],
        # The SCIM blueprint's fallback: unknown paths and methods, 404/405 for any token, 401 without.
        **{
            ("/scim/v2/", method): lambda method=method: [Call(method, "/scim/v2/", None, everyone=405)]
            for method in ("POST", "PUT", "PATCH", "DELETE")
        },
        **{
            ("/scim/v2/<path:path>", method): lambda method=method, path=path: [Call(method, path, None, everyone=404)]
            for method, path in (
                ("GET", "/scim/v2/Pets"),
                ("POST", "/scim/v2/Pets"),
                ("PUT", "/scim/v2/Pets/x"),
                ("PATCH", "/scim/v2/Pets/x"),
                ("DELETE", "/scim/v2/Pets/x"),
            )
        },
        ("/metrics", "GET"): lambda: [Call("GET", "/metrics", "metrics")],
        ("/admin/policy", "GET"): lambda: [Call("GET", "/admin/policy", "admin")],
        ("/admin/approvals", "GET"): lambda: [Call("GET", "/admin/approvals", "approve")],
        ("/admin/approvals/<approval_id>/<any(approve, reject, cancel):decision>", "POST"): lambda: [
            Call("POST", "/admin/approvals/missing/approve", "approve"),
            Call("POST", "/admin/approvals/missing/reject", "approve"),
            # the requester's own: any token may ask, and only the requester's succeeds (tests/lifecycle)
            Call("POST", "/admin/approvals/missing/cancel", None),
        ],
        ("/admin/users/<user_id>/autoprovision", "POST"): lambda: [
            Call("POST", f"/admin/users/{world['user']}/autoprovision", "admin")
        ],
    }


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


@pytest.fixture
def world(client: ScimClient, make_user: Any, make_group: Any) -> dict[str, str]:
    user = make_user("bjensen")
    group = make_group("Tour Guides", members=[user["id"]])
    credential = ok(client.post("/Credentials", _bodies(user["id"])["Credential"][0]), 201)
    return {"user": user["id"], "group": group["id"], "credential": credential["id"], "me": make_user("me")["id"]}


def test_every_route_is_in_the_scope_table(app: Flask, state: Any, world: dict[str, str]) -> None:
    table = scope_table(state, world)
    routes = _routes(app)
    unknown = sorted(routes - set(table) - PUBLIC)
    assert not unknown, f"routes with no entry in the scope table (which scope do they need?): {unknown}"
    assert not sorted((set(table) | PUBLIC) - routes), "entries for routes that no longer exist"


def _request(client: Any, call: Call, token: str | None) -> Any:
    headers = {"Accept": SCIM, "Content-Type": SCIM}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(call.path, method=call.method, json=call.body, headers=headers)


def test_every_route_checks_its_scope(app: Flask, state: Any, world: dict[str, str], make_token: Any) -> None:
    """401 without a token or with a bad one, 403 with a token lacking the scope, anything else with it."""
    tokens = {scope: make_token(f"only-{scope}", (scope,), user_id=world["me"]) for scope in SCOPES}
    client = app.test_client()
    failures: list[str] = []
    checked = 0
    for key, calls in sorted(scope_table(state, world).items()):
        for call in calls():
            shown = f"{call.method} {call.path} ({key[0]})"
            for token in (None, FORGED, "not-even-a-token"):
                response = _request(client, call, token)
                if response.status_code != 401 or not response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
                    failures.append(f"{shown} with token {token!r}: {response.status_code}, not 401 with a challenge")
            for scope, token in tokens.items():
                response = _request(client, call, token)
                status = response.status_code
                if call.operation is not None and status == 200:  # /Bulk: the operation's own status
                    status = int(response.get_json()["Operations"][0]["status"])
                allowed = call.scope is None or call.scope == scope
                if call.everyone is not None:
                    wrong = status != call.everyone
                elif allowed:
                    wrong = status in (401, 403) or status >= 500
                else:
                    wrong = status != 403
                if wrong:
                    failures.append(f"{shown} with scope {scope}: {status} {response.get_data(as_text=True)[:200]}")
                checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 275, checked  # 55 requests × 5 scopes, and each refused without a valid token three ways


def test_public_routes_need_no_token(app: Flask) -> None:
    client = app.test_client()
    for rule, method in sorted(PUBLIC):
        path = rule.replace("<resource_id>", "User" if "ResourceTypes" in rule else USER)
        assert client.open(path, method=method).status_code == 200, path


# -- Expiry and revocation, on every process -------------------------------------------------------


@pytest.fixture
def second_app(database_url: str, state: Any) -> Iterator[Flask]:
    """Another server on the same database: all two processes share."""
    other = create_app({"SCIM_DATABASE_URL": database_url, "SCIM_LOG_LEVEL": "WARNING"})
    yield other
    other.extensions["scim_server"].engine.dispose()


def test_a_revocation_holds_at_once_on_every_process(
    app: Flask, second_app: Flask, make_token: Any, database_url: str
) -> None:
    token = make_token("okta")
    here, there = ScimClient(app.test_client(), token), ScimClient(second_app.test_client(), token)
    ok(here.search("/Users"))
    ok(there.search("/Users"))
    with Session(second_app.extensions["scim_server"].engine) as session, session.begin():
        assert revoke_tokens(session, "okta") == 1
    error(here.search("/Users"), 401)  # the very next request, on the process that did not revoke
    error(there.search("/Users"), 401)

    # and from the command line, a process of its own
    token = make_token("entra")
    here, there = ScimClient(app.test_client(), token), ScimClient(second_app.test_client(), token)
    ok(here.search("/Users"))
    ok(there.search("/Users"))
    assert "revoked 1" in _cli(database_url, "tokens", "revoke", "entra").stdout
    error(here.search("/Users"), 401)
    error(there.search("/Users"), 401)
    assert here.flask.get("/admin/policy", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_an_expired_token_is_refused_on_every_process(app: Flask, second_app: Flask, state: Any) -> None:
    with Session(state.engine) as session, session.begin():
        token = create_token(session, "short-lived", ("read",), expires_in_days=1.5 / 86400)  # 1.5 seconds
        stale = create_token(session, "stale", ("read",), expires_in_days=-1)
    clients = [ScimClient(app.test_client(), token), ScimClient(second_app.test_client(), token)]
    for client in clients:
        ok(client.search("/Users"))
    for client in (ScimClient(app.test_client(), stale), ScimClient(second_app.test_client(), stale)):
        error(client.search("/Users"), 401)
    with Session(state.engine) as session:
        expires = session.query(TokenRow.expires).filter(TokenRow.client == "short-lived").scalar()
    time.sleep(max(0.0, (expires - datetime.datetime.now(datetime.UTC)).total_seconds()) + 0.1)
    for client in clients:
        error(client.search("/Users"), 401)


# -- Logs -------------------------------------------------------------------------------------------


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return "\n".join(f"{formatter.format(record)} {record.args!r} {record.__dict__!r}" for record in self.records)


@pytest.fixture
def every_log_record() -> Iterator[Everything]:
    """Every record of every logger at DEBUG, those that do not propagate to the root too."""
    handler = Everything()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_no_token_reaches_a_log(
    app: Flask,
    make_token: Any,
    make_user: Any,
    every_log_record: Everything,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token, reader = make_token("hr", ("read", "write")), make_token("auditor", ("read",))
    user = make_user("bjensen")
    client, anonymous = app.test_client(), app.test_client()
    for presented in (token, reader, FORGED, token[:-1], token + "x"):
        for method, path, body in (
            ("GET", "/scim/v2/Users?filter=userName%20eq%20%22bjensen%22", None),
            ("POST", "/scim/v2/Users", {"schemas": [USER], "userName": "x" + presented[-6:]}),
            ("PATCH", f"/scim/v2/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": []}),
            ("POST", "/scim/v2/Bulk", {"schemas": [BULK], "Operations": [{"method": "DELETE", "path": "/Users/x"}]}),
            ("GET", "/admin/policy", None),
            ("GET", "/metrics", None),
            ("GET", "/scim/v2/Nope", None),
        ):
            client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {presented}"})
        anonymous.get("/scim/v2/Users", headers={"Authorization": f"Basic {presented}"})
        anonymous.get("/scim/v2/Users", headers={"Authorization": presented})
    # an internal error while a valid token is in the request
    storage = app.extensions["scim_server"].storage
    monkeypatch.setattr(storage, "search_documents", _explode)
    assert client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 500

    assert any(record.name == "scim_server.requests" for record in every_log_record.records)  # capture works
    assert any(record.levelno >= logging.ERROR for record in every_log_record.records)
    logged = every_log_record.text() + "".join(capfd.readouterr())
    for secret in (token, reader, FORGED):
        for part in _secret_parts(secret):
            assert part not in logged


def test_the_command_line_prints_a_new_token_on_stdout_only(app: Flask, database_url: str, state: Any) -> None:
    created = _cli(database_url, "tokens", "create", "cli-client", "--scope", "read", log_level="DEBUG")
    token = created.stdout.strip()
    assert created.stdout == token + "\n" and token.startswith(TOKEN_PREFIX)
    listed = _cli(database_url, "tokens", "list", log_level="DEBUG")
    revoked = _cli(database_url, "tokens", "revoke", "cli-client", log_level="DEBUG")
    for part in _secret_parts(token):
        assert part not in created.stderr
        assert part not in listed.stdout + listed.stderr
        assert part not in revoked.stdout + revoked.stderr


def _cli(database_url: str, *args: str, log_level: str = "WARNING") -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCIM_")}
    env.update(SCIM_DATABASE_URL=database_url, SCIM_LOG_LEVEL=log_level)
    return subprocess.run([str(SCIM_SERVER), *args], env=env, capture_output=True, text=True, check=True, timeout=120)


# -- What errors tell -------------------------------------------------------------------------------

LEAKS = re.compile(
    r"Traceback|File \"|\.py\b|/work/|site-packages|sqlalchemy|psycopg|sqlite|scim_(resource|value|member|token)"
    r"|SELECT |INSERT |UNIQUE constraint|duplicate key|created_by|modified_by|\bpk\b",
    re.IGNORECASE,
)


def _explode(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(f"boom in {__file__}: SELECT secret FROM scim_token")


def test_an_internal_error_answers_without_a_trace(
    app: Flask, client: ScimClient, make_token: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    state = app.extensions["scim_server"]
    monkeypatch.setattr(state.storage, "search_documents", _explode)
    monkeypatch.setattr(type(state.policy), "as_dict", _explode)
    admin = make_token("admin", ("admin",))
    with caplog.at_level(logging.CRITICAL):
        scim = client.search("/Users")
        admin_api = app.test_client().get("/admin/policy", headers={"Authorization": f"Bearer {admin}"})
    assert error(scim, 500)["detail"] == "internal server error"
    assert admin_api.status_code == 500 and admin_api.get_json() == {
        "error": "internal_error",
        "detail": "internal server error",
    }
    for response in (scim, admin_api):
        assert not LEAKS.search(response.get_data(as_text=True)), response.get_data(as_text=True)
        assert "boom" not in response.get_data(as_text=True)


def test_a_broken_database_answers_without_a_trace(fresh_database: Any, tmp_path: Path) -> None:
    url = fresh_database("broken")
    broken = create_app({"SCIM_DATABASE_URL": url, "SCIM_LOG_LEVEL": "ERROR"})
    engine = broken.extensions["scim_server"].engine
    with Session(engine) as session, session.begin():
        token = create_token(session, "hr", ("read", "write", "admin"))
    client = broken.test_client()
    ok(ScimClient(client, token).search("/Users"))

    engine.dispose()
    if engine.dialect.name == "postgresql":
        from tests.reliability.conftest import _drop_postgres

        _drop_postgres(url)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(str(engine.url.database) + suffix).unlink(missing_ok=True)
    broken.extensions["scim_server"].__dict__.pop("reads", None)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
        responses = [
            client.get("/scim/v2/Users", headers=headers),
            client.post("/scim/v2/Users", json={"schemas": [USER], "userName": "x"}, headers=headers),
            client.get("/admin/policy", headers=headers),
            client.get("/readyz"),
        ]
    finally:
        engine.dispose()
    for response in responses:
        body = response.get_data(as_text=True)
        assert response.status_code in (500, 503), body
        assert not LEAKS.search(body), body
        for detail in (url, str(engine.url.host or ""), str(engine.url.database)):
            assert not detail or detail not in body, body


def test_errors_reveal_nothing_of_other_clients(app: Flask, make_token: Any, state: Any) -> None:
    """What one client wrote, and who wrote it, stays out of what another is told: names, row ids, SQL."""
    first = ScimClient(app.test_client(), make_token("first-client-name", ("read", "write")))
    second = ScimClient(app.test_client(), make_token("second", ("read", "write")))
    user = ok(first.post("/Users", {"schemas": [USER], "userName": "bjensen", "externalId": "hr-1"}), 201)
    group = ok(first.post("/Groups", {"schemas": [GROUP], "displayName": "Admins"}), 201)

    responses = [
        second.post("/Users", {"schemas": [USER], "userName": "BJENSEN"}),  # 409
        second.post("/Groups", {"schemas": [GROUP], "displayName": "x", "members": [{"value": "missing"}]}),  # 400
        second.get("/Users/missing"),  # 404
        second.put(f"/Users/{user['id']}", {"schemas": [USER], "userName": "b"}, headers={"If-Match": 'W/"0"'}),
        second.patch(
            f"/Users/{user['id']}",
            [{"op": "replace", "path": "userName", "value": "x"}],
            headers={"If-Match": 'W/"nope"'},
        ),
        second.patch(f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": "nope"}]}]),
        second.post(
            "/Bulk",
            {
                "schemas": [BULK],
                "Operations": [
                    {
                        "method": "POST",
                        "path": "/Users",
                        "bulkId": "a",
                        "data": {"schemas": [USER], "userName": "bjensen"},
                    },
                    {"method": "DELETE", "path": "/Users/missing"},
                ],
            },
        ),
        second.get(f"/Users/{user['id']}"),
        second.search("/Users"),
        second.search("/Groups"),
        second.get("/Me"),
    ]
    statuses = [response.status_code for response in responses]
    assert statuses[:6] == [409, 400, 404, 412, 412, 400], statuses
    for response in responses:
        body = response.get_data(as_text=True)
        assert "first-client-name" not in body, body
        assert not LEAKS.search(body), body
        for meta in _metas(response.get_json()):
            assert set(meta) <= {"resourceType", "created", "lastModified", "location", "version"}, meta


def _metas(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        if isinstance(document.get("meta"), dict):
            yield document["meta"]
        for value in document.values():
            yield from _metas(value)
    elif isinstance(document, list):
        for value in document:
            yield from _metas(value)
