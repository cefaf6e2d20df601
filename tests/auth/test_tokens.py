"""Bearer tokens: 401 without a valid one, 403 without the scope, hashed at rest, expiry and revocation at once."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from scim_server.tokens import TokenRow, digest, revoke_tokens
from tests.conftest import USER, ScimClient, error, ok

PROTECTED = [
    ("GET", "/Users"),
    ("GET", "/Users/x"),
    ("POST", "/Users"),
    ("POST", "/Bulk"),
    ("POST", "/.search"),
    ("GET", "/Me"),
    ("GET", "/Pets"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "bearer scim_forged"])
def test_requests_without_a_valid_token_are_401(
    anonymous: ScimClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = anonymous.request(method, path, json={} if method == "POST" else None, headers=headers)
    body = error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "scim_" not in body["detail"]


def test_discovery_needs_no_token(anonymous: ScimClient) -> None:
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas", "/ResourceTypes/User"):
        ok(anonymous.get(path))


def test_read_scope_reads_but_cannot_write(app: Flask, make_token: Any, make_user: Any, snapshot: Any) -> None:
    user = make_user()
    reader = ScimClient(app.test_client(), make_token("auditor", ("read",)))
    ok(reader.get(f"/Users/{user['id']}"))
    ok(reader.search("/Users"))
    before = snapshot()
    error(reader.post("/Users", {"schemas": [USER], "userName": "x"}), 403)
    error(reader.patch(f"/Users/{user['id']}", [{"op": "add", "path": "title", "value": "x"}]), 403)
    error(reader.delete(f"/Users/{user['id']}"), 403)
    assert snapshot() == before


def test_write_scope_alone_cannot_read(app: Flask, make_token: Any, make_user: Any) -> None:
    user = make_user()
    writer = ScimClient(app.test_client(), make_token("hr", ("write",)))
    error(writer.get(f"/Users/{user['id']}"), 403)
    ok(writer.post("/Users", {"schemas": [USER], "userName": "x"}), 201)


def test_bulk_operations_are_authorised_one_by_one(app: Flask, make_token: Any, make_user: Any) -> None:
    reader = ScimClient(app.test_client(), make_token("auditor", ("read",)))
    result = ok(
        reader.post(
            "/Bulk",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "x"}}
                ],
            },
        )
    )
    assert int(result["Operations"][0]["status"]) == 403


def test_tokens_are_stored_as_hashes(make_token: Any, state: Any) -> None:
    token = make_token()
    with state.engine.connect() as connection:
        dump = " ".join(str(row) for row in connection.execute(text("SELECT * FROM scim_token")))
    assert token not in dump
    assert digest(token) in dump


def test_expired_token_is_refused(app: Flask, make_token: Any, state: Any) -> None:
    token = make_token("temp", expires_in_days=1)
    client = ScimClient(app.test_client(), token)
    ok(client.search("/Users"))
    with Session(state.engine) as session, session.begin():
        session.execute(
            update(TokenRow).values(expires=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1))
        )
    error(client.search("/Users"), 401)


def test_revocation_takes_effect_on_the_next_request(app: Flask, make_token: Any, state: Any) -> None:
    client = ScimClient(app.test_client(), make_token("idp"))
    other = ScimClient(app.test_client(), make_token("other"))
    ok(client.search("/Users"))
    with Session(state.engine) as session, session.begin():
        assert revoke_tokens(session, "idp") == 1
    error(client.search("/Users"), 401)
    ok(other.search("/Users"))


def test_writes_record_their_actor(app: Flask, make_token: Any, state: Any) -> None:
    hr = ScimClient(app.test_client(), make_token("workday"))
    idp = ScimClient(app.test_client(), make_token("entra"))
    user = ok(hr.post("/Users", {"schemas": [USER], "userName": "bjensen"}), 201)
    ok(idp.patch(f"/Users/{user['id']}", [{"op": "add", "path": "title", "value": "x"}]))
    with state.engine.connect() as connection:
        row = connection.execute(text("SELECT created_by, modified_by FROM scim_resource")).one()
    assert tuple(row) == ("workday", "entra")


def test_unknown_scope_is_refused(make_token: Any) -> None:
    with pytest.raises(ValueError, match="unknown scopes"):
        make_token("x", ("read", "superuser"))


def test_a_hash_that_is_not_in_the_table_finds_nothing(state: Any, make_token: Any) -> None:
    make_token()
    with Session(state.engine) as session:
        assert session.execute(select(TokenRow).where(TokenRow.token_hash == digest("scim_nope"))).first() is None
