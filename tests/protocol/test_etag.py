"""ETags (RFC 7644 §3.14): versions change with every write; If-Match guards writes, If-None-Match saves reads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import USER, ScimClient, error, ok


def test_get_carries_the_version_as_etag(client: ScimClient, make_user: Any) -> None:
    user = make_user()
    response = client.get(f"/Users/{user['id']}")
    assert response.headers["ETag"] == user["meta"]["version"]
    assert user["meta"]["version"].startswith('W/"')


def test_if_none_match_with_the_current_version_is_304(client: ScimClient, make_user: Any) -> None:
    user = make_user()
    response = client.get(f"/Users/{user['id']}", headers={"If-None-Match": user["meta"]["version"]})
    assert response.status_code == 304 and not response.data
    assert response.headers["ETag"] == user["meta"]["version"]
    ok(client.get(f"/Users/{user['id']}", headers={"If-None-Match": 'W/"999"'}))


WRITES = {
    "put": lambda c, u, h: c.put(
        f"/Users/{u['id']}", {"schemas": [USER], "userName": u["userName"], "title": "x"}, headers=h
    ),
    "patch": lambda c, u, h: c.patch(f"/Users/{u['id']}", [{"op": "add", "path": "title", "value": "x"}], headers=h),
    "delete": lambda c, u, h: c.delete(f"/Users/{u['id']}", headers=h),
}


@pytest.mark.parametrize("write", WRITES)
def test_stale_if_match_is_412_and_changes_nothing(
    client: ScimClient, make_user: Any, snapshot: Any, write: str
) -> None:
    user = make_user()
    ok(client.patch(f"/Users/{user['id']}", [{"op": "add", "path": "nickName", "value": "n"}]))
    before = snapshot()

    error(WRITES[write](client, user, {"If-Match": user["meta"]["version"]}), 412)

    assert snapshot() == before


@pytest.mark.parametrize("write", WRITES)
def test_current_if_match_lets_the_write_through(client: ScimClient, make_user: Any, write: str) -> None:
    user = make_user()
    response = WRITES[write](client, user, {"If-Match": user["meta"]["version"]})
    assert response.status_code in (200, 204), response.get_data(as_text=True)


def test_if_match_star_matches_any_version(client: ScimClient, make_user: Any) -> None:
    user = make_user()
    ok(client.patch(f"/Users/{user['id']}", [{"op": "add", "path": "title", "value": "x"}], headers={"If-Match": "*"}))


def test_every_write_gives_a_new_version(client: ScimClient, make_user: Any) -> None:
    user = make_user()
    versions = {user["meta"]["version"]}
    for title in ("a", "b", "c"):
        body = ok(client.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": title}]))
        versions.add(body["meta"]["version"])
    assert len(versions) == 4
