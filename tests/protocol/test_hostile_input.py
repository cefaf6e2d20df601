"""Input no client should send still gets a SCIM 4xx, never a 5xx, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SCIM, USER, ScimClient, error, ok

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

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


def test_a_filter_of_a_thousand_comparisons_is_400_not_503(client: ScimClient, make_group: Any) -> None:
    """Found by tests/reliability/test_properties.py: 1,001 ``or`` terms exceeded SQLite's expression depth (503),
    and 20,000 kept PostgreSQL busy for two and a half minutes."""
    wide = " or ".join(f'userName eq "user{index}"' for index in range(1001))
    error(client.search("/Users", filter=wide), 400, "invalidFilter")
    error(client.post("/Users/.search", {"schemas": [SEARCH], "filter": wide}), 400, "invalidFilter")
    group = make_group("Tour Guides")
    members = " or ".join(f'value eq "user{index}"' for index in range(1001))
    error(
        client.patch(f"/Groups/{group['id']}", [{"op": "remove", "path": f"members[{members}]"}]), 400, "invalidFilter"
    )


@pytest.mark.parametrize(
    "wide",
    [
        " and ".join(f'userName lt "user{index}"' for index in range(65)),
        " and ".join(f'emails[type eq "type{index}"]' for index in range(40)),
    ],
)
def test_a_wide_conjunction_is_400_before_postgresql_plans_it(client: ScimClient, wide: str) -> None:
    """Found by tests/reliability/test_properties.py on PostgreSQL: 256 ``and``-ed comparisons took a minute
    to plan (100 ``and``-ed value paths 36 s), on a database of three users."""
    error(client.post("/Users/.search", {"schemas": [SEARCH], "filter": wide}), 400, "invalidFilter")


@pytest.mark.parametrize("op", ["co", "sw", "ew"])
def test_a_substring_longer_than_a_like_pattern_is_400_not_503(client: ScimClient, make_user: Any, op: str) -> None:
    """Found by tests/reliability/test_properties.py: SQLite refuses LIKE patterns above 50,000 bytes (503)."""
    make_user("bjensen")
    needle = "\U0001d518" * 12_501  # 4 bytes each
    error(client.search("/Users", filter=f'userName {op} "{needle}"'), 400, "invalidFilter")


@pytest.mark.parametrize(
    "path", ['roles[value eq "guide"].type', 'roles[value eq "user"].type', 'roles[value eq "guide"].value']
)
def test_removing_a_sub_attribute_of_a_role_is_not_a_500(client: ScimClient, make_user: Any, path: str) -> None:
    """Found by tests/reliability/test_properties.py: the lifecycle took the selected sub-attribute values for
    roles (``'str' object has no attribute 'value'``)."""
    user = make_user("bjensen", roles=[{"value": "guide"}])
    body = ok(client.patch(f"/Users/{user['id']}", [{"op": "remove", "path": path}]))
    assert ("user", "default") in {(role.get("value"), role.get("type")) for role in body["roles"]}


@pytest.mark.parametrize(
    "value", [[{"primary": False}], [{"value": "x", "nosuch": 1}], {"display": "x", "terminationDate": "2026"}]
)
def test_a_member_that_is_no_member_is_400_not_500(
    client: ScimClient, make_user: Any, make_group: Any, snapshot: Any, value: Any
) -> None:
    """Found by tests/reliability/test_properties.py: the membership delta validated entries without turning
    pydantic's error into a SCIM one."""
    group = make_group("Tour Guides", members=[make_user("bjensen")["id"]])
    before = snapshot()
    for op in ("add", "replace"):
        error(client.patch(f"/Groups/{group['id']}", [{"op": op, "path": "members", "value": value}]), 400)
    assert snapshot() == before
