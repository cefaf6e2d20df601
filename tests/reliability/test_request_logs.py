"""The request log: one JSON line per request with who, what, how it ended and how long it took — and never a
token, a query string or an id from the URL."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from scim_server.requestlog import LOGGER_NAME
from tests.conftest import BULK, USER, ScimClient, error, ok

FIELDS = {"ts", "request_id", "client", "operation", "method", "path", "status", "duration_ms"}

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Iterator[Lines]:
    """The request log's lines so far, parsed. The logger does not propagate (its lines are bare JSON on
    stderr), so caplog's handler is attached to it directly."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
            yield lambda: [json.loads(record.getMessage()) for record in caplog.records if record.name == LOGGER_NAME]
    finally:
        logger.removeHandler(caplog.handler)


def test_one_json_line_per_request_with_every_field(client: ScimClient, lines: Lines) -> None:
    user = ok(client.post("/Users", {"schemas": [USER], "userName": "bjensen"}), 201)
    fetched = client.get(f"/Users/{user['id']}")
    ok(fetched)
    ok(client.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "displayName", "value": "B"}]))
    ok(client.search("/Users", filter='userName eq "bjensen"'))
    ok(client.post("/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}))
    ok(client.delete(f"/Users/{user['id']}"), 204)

    logged = lines()
    assert [(line["operation"], line["method"], line["path"], line["status"]) for line in logged] == [
        ("create User", "POST", "/scim/v2/Users", 201),
        ("query User", "GET", "/scim/v2/Users/{id}", 200),
        ("patch User", "PATCH", "/scim/v2/Users/{id}", 200),
        ("search User", "GET", "/scim/v2/Users", 200),
        ("search User", "POST", "/scim/v2/Users/.search", 200),
        ("delete User", "DELETE", "/scim/v2/Users/{id}", 204),
    ]
    for line in logged:
        assert set(line) == FIELDS
        assert line["client"] == "tests"
        assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 60_000
        started = datetime.datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
        assert abs(datetime.datetime.now(datetime.UTC) - started) < datetime.timedelta(minutes=5)
    assert len({line["request_id"] for line in logged}) == len(logged)
    assert logged[1]["request_id"] == fetched.headers["X-Request-ID"]


def test_no_token_query_string_or_id_reaches_the_log(
    client: ScimClient, lines: Lines, caplog: pytest.LogCaptureFixture
) -> None:
    user = ok(client.post("/Users", {"schemas": [USER], "userName": "secret-name-4711"}), 201)
    ok(client.search("/Users", filter='userName eq "secret-name-4711"'))
    ok(client.get(f"/Users/{user['id']}", query_string={"attributes": "userName"}))
    error(ScimClient(client.flask, "scim_not-a-real-token-0815").get("/Users"), 401)
    assert len(lines()) == 4
    text = caplog.text
    for secret in (client.token, "scim_not-a-real-token-0815", "Bearer", "secret-name-4711", user["id"], "filter"):
        assert secret not in text, secret


def test_a_refused_token_is_logged_without_a_client(anonymous: ScimClient, lines: Lines) -> None:
    error(anonymous.get("/Users"), 401)
    [line] = lines()
    assert (line["client"], line["operation"], line["status"]) == (None, "search User", 401)


def test_every_kind_of_request_has_an_operation(app: Flask, client: ScimClient, make_token: Any, lines: Lines) -> None:
    bulk = [{"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER], "userName": "bulky"}}]
    ok(client.post("/Bulk", {"schemas": [BULK], "Operations": bulk}))
    ok(client.get("/ServiceProviderConfig"))
    ok(client.get("/"))
    error(client.get("/Nothing"), 404)
    admin = {"Authorization": f"Bearer {make_token('operator', ('admin',))}"}
    assert app.test_client().get("/admin/policy", headers=admin).status_code == 200
    assert app.test_client().get("/healthz").status_code == 200
    assert app.test_client().get("/no/such/page?token=abc").status_code == 404
    assert [(line["operation"], line["path"], line["client"]) for line in lines()] == [
        ("bulk", "/scim/v2/Bulk", "tests"),
        ("discovery", "/scim/v2/ServiceProviderConfig", None),
        ("search", "/scim/v2/", "tests"),
        ("unknown", "/scim/v2/{endpoint}", "tests"),
        ("admin policy", "/admin/policy", "operator"),
        ("healthz", "/healthz", None),
        ("unmatched", None, None),
    ]


def test_a_proxy_request_id_is_kept_and_a_forged_one_replaced(client: ScimClient, lines: Lines) -> None:
    kept = client.get("/Users", headers={"X-Request-ID": "edge-7f3a.42"})
    forged = client.get("/Users", headers={"X-Request-ID": 'x", "client": "admin'})
    too_long = client.get("/Users", headers={"X-Request-ID": "a" * 129})
    assert kept.headers["X-Request-ID"] == "edge-7f3a.42"
    for replaced in (forged, too_long):
        assert len(replaced.headers["X-Request-ID"]) == 16 and "admin" not in replaced.headers["X-Request-ID"]
    assert [line["request_id"] for line in lines()] == [
        "edge-7f3a.42",
        forged.headers["X-Request-ID"],
        too_long.headers["X-Request-ID"],
    ]


def test_the_lines_on_stderr_are_bare_json(client: ScimClient, capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        capsys.readouterr()
        ok(client.get("/Users"))
        ok(client.get("/Groups"))
    finally:
        logger.setLevel(previous)
    written = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert [json.loads(line)["operation"] for line in written] == ["search User", "search Group"]


def test_nothing_is_logged_below_info(client: ScimClient, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
            ok(client.get("/Users"))
    finally:
        logger.removeHandler(caplog.handler)
    assert not [record for record in caplog.records if record.name == LOGGER_NAME]
