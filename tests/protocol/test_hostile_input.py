"""Input no client should send still gets a SCIM 4xx, never a 5xx, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SCIM, USER, ScimClient

RAW_BODIES = [
    b'{"schemas": ["%s"], "userName": "a\\u0000b"}' % USER.encode(),
    b'{"schemas": ["%s"], "userName": "a\\ud800b"}' % USER.encode(),
    b'{"schemas": ["%s"], "userName": "x", "name": {"givenName": {"deep": [1, [2, [3]]]}}}' % USER.encode(),
    b"[" * 5000 + b"]" * 5000,
    b'{"schemas": ["%s"], "userName": "x", "emails": [%s]}' % (USER.encode(), b",".join([b"null"] * 100)),
    b"\xff\xfe\x00",
    b"",
    b"null",
    b'"just a string"',
]

QUERIES = [
    {"filter": 'userName eq "a\\u0000"'},
    {"filter": 'userName eq "a\\ud800"'},
    {"filter": "userName eq 99999999999999999999999999999999"},
    {"filter": "active eq 1e400"},
    {"filter": 'meta.created gt "9999999-01-01T00:00:00Z"'},
    {"filter": 'userName co ""'},
    {"startIndex": str(10**30), "count": "5"},
    {"count": str(10**30)},
    {"count": "abc"},
    {"startIndex": "-999999999999999999999"},
    {"sortBy": "userName", "sortOrder": "sideways"},
    {"attributes": "userName,,,%%%"},
    {"excludedAttributes": "nosuch.thing"},
    {"cursor": "", "count": "-1"},
]


@pytest.mark.parametrize("body", RAW_BODIES)
def test_hostile_bodies(client: ScimClient, make_user: Any, snapshot: Any, body: bytes) -> None:
    user = make_user()
    before = snapshot()
    for method, path in (
        ("POST", "/Users"),
        ("PUT", f"/Users/{user['id']}"),
        ("PATCH", f"/Users/{user['id']}"),
        ("POST", "/Bulk"),
    ):
        response = client.request(method, path, data=body, headers={"Content-Type": SCIM})
        assert 400 <= response.status_code < 500, (method, response.get_data(as_text=True))
        assert response.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert snapshot() == before


@pytest.mark.parametrize("query", QUERIES)
def test_hostile_queries(client: ScimClient, make_user: Any, query: dict[str, str]) -> None:
    make_user("bjensen")
    response = client.search("/Users", **query)
    assert response.status_code < 500, response.get_data(as_text=True)


@pytest.mark.parametrize("resource_id", ["a%00b", "x" * 5000, "%ED%A0%80", "..%2F..%2Fetc", "' OR 1=1 --"])
def test_hostile_ids(client: ScimClient, resource_id: str) -> None:
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/Users/{resource_id}")
        assert response.status_code == 404, response.get_data(as_text=True)
