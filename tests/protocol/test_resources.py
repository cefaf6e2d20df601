"""Create, read, replace and delete over HTTP, and the errors each refuses with, changing nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ENTERPRISE, GROUP, SCIM, USER, ScimClient, error, ok


def test_create_answers_201_with_location_and_etag(client: ScimClient) -> None:
    response = client.post("/Users", {"schemas": [USER], "userName": "bjensen", "name": {"givenName": "Barbara"}})

    body = ok(response, 201)
    assert response.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    assert response.headers["ETag"] == body["meta"]["version"]
    assert response.headers["Content-Type"].startswith(SCIM)
    assert body["meta"]["created"] == body["meta"]["lastModified"]
    assert body["name"] == {"givenName": "Barbara"}


def test_read_returns_what_was_stored(client: ScimClient, make_user: Any) -> None:
    user = make_user(
        "bjensen", emails=[{"value": "b@example.com", "type": "work"}], **{ENTERPRISE: {"department": "IT"}}
    )

    body = ok(client.get(f"/Users/{user['id']}"))

    assert body == user


def test_unknown_resource_is_404(client: ScimClient) -> None:
    error(client.get("/Users/does-not-exist"), 404)
    error(client.put("/Users/does-not-exist", {"schemas": [USER], "userName": "x"}), 404)
    error(client.patch("/Users/does-not-exist", [{"op": "add", "path": "title", "value": "x"}]), 404)
    error(client.delete("/Users/does-not-exist"), 404)


def test_a_user_is_not_found_as_a_group(client: ScimClient, make_user: Any) -> None:
    user = make_user()
    error(client.get(f"/Groups/{user['id']}"), 404)


def test_replace_answers_200_with_the_new_resource(client: ScimClient, make_user: Any) -> None:
    user = make_user("bjensen", title="Guide", nickName="Babs")

    body = ok(client.put(f"/Users/{user['id']}", {"schemas": [USER], "userName": "bjensen", "title": "Lead"}))

    assert body["title"] == "Lead"
    assert "nickName" not in body
    assert body["meta"]["version"] != user["meta"]["version"]
    assert body["meta"]["created"] == user["meta"]["created"]
    assert ok(client.get(f"/Users/{user['id']}")) == body


def test_delete_answers_204_then_404(client: ScimClient, make_user: Any) -> None:
    user = make_user()

    response = client.delete(f"/Users/{user['id']}")

    assert response.status_code == 204 and not response.data
    error(client.get(f"/Users/{user['id']}"), 404)


def test_password_is_accepted_but_never_stored_or_returned(client: ScimClient, state: Any) -> None:
    body = ok(client.post("/Users", {"schemas": [USER], "userName": "bjensen", "password": "t1meMa$heen"}), 201)

    assert "password" not in body
    assert "password" not in ok(client.get(f"/Users/{body['id']}"))
    with state.engine.connect() as connection:
        from sqlalchemy import text

        documents = connection.execute(text("SELECT data FROM scim_resource")).scalars().all()
    assert all("t1meMa$heen" not in str(document) for document in documents)


def test_read_only_attributes_sent_by_a_client_are_ignored(client: ScimClient, make_user: Any, make_group: Any) -> None:
    group = make_group()
    body = ok(
        client.post(
            "/Users",
            {"schemas": [USER], "userName": "bjensen", "id": "chosen", "groups": [{"value": group["id"]}]},
        ),
        201,
    )
    assert body["id"] != "chosen"
    assert "groups" not in body


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"schemas": [USER]}, None),
        ({"schemas": [USER], "userName": "x", "nosuch": 1}, "invalidSyntax"),
        ({"schemas": [USER], "userName": "x", "emails": [{"value": "not an email"}]}, None),
        ({"schemas": [USER], "userName": "x", "active": "maybe"}, None),
        ({"schemas": [USER], "userName": "x", "urn:unknown:ext": {"a": 1}}, None),
        ({"schemas": [USER], "userName": 12}, None),
        ({"schemas": [USER], "userName": "x", "name": "flat"}, None),
        ([1, 2, 3], None),
    ],
)
def test_invalid_resources_are_refused_and_change_nothing(
    client: ScimClient, snapshot: Any, body: Any, scim_type: str | None
) -> None:
    before = snapshot()

    error(client.post("/Users", body), 400, scim_type)

    assert snapshot() == before


def test_malformed_json_is_invalid_syntax(client: ScimClient, snapshot: Any) -> None:
    before = snapshot()
    response = client.request("POST", "/Users", data=b'{"userName": ', headers={"Content-Type": SCIM})
    error(response, 400, "invalidSyntax")
    assert snapshot() == before


def test_a_body_that_is_not_json_is_415(client: ScimClient) -> None:
    response = client.request(
        "POST", "/Users", data=b"userName=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    error(response, 415)


def test_plain_json_content_type_is_accepted(client: ScimClient) -> None:
    response = client.request(
        "POST",
        "/Users",
        data=b'{"schemas": ["%s"], "userName": "x"}' % USER.encode(),
        headers={"Content-Type": "application/json"},
    )
    ok(response, 201)


def test_oversized_body_is_413(client: ScimClient, state: Any, snapshot: Any) -> None:
    before = snapshot()
    padding = "x" * (state.settings.max_payload_size + 1)
    response = client.post("/Users", {"schemas": [USER], "userName": "big", "title": padding})
    error(response, 413)
    assert snapshot() == before


def test_unknown_endpoint_is_404_and_wrong_method_is_405(client: ScimClient) -> None:
    error(client.get("/Pets"), 404)
    response = client.request("DELETE", "/ServiceProviderConfig")
    error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_groups_round_trip(client: ScimClient, make_user: Any) -> None:
    user = make_user("bjensen")
    created = ok(
        client.post(
            "/Groups",
            {"schemas": [GROUP], "displayName": "Tour Guides", "externalId": "tg", "members": [{"value": user["id"]}]},
        ),
        201,
    )
    assert created["members"][0]["value"] == user["id"]
    assert created["members"][0]["type"] == "User"
    assert created["members"][0]["$ref"].endswith(f"/scim/v2/Users/{user['id']}")

    replaced = ok(client.put(f"/Groups/{created['id']}", {"schemas": [GROUP], "displayName": "Guides", "members": []}))
    assert replaced["displayName"] == "Guides"
    assert "members" not in replaced
