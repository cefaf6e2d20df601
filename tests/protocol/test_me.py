"""/Me (RFC 7644 §3.11): the user a token is bound to, else 501."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.conftest import ScimClient, error, ok


def test_me_serves_the_bound_user(app: Flask, make_token: Any, make_user: Any) -> None:
    user = make_user("bjensen")
    me = ScimClient(app.test_client(), make_token("portal", ("read", "write"), user_id=user["id"]))

    response = me.get("/Me")

    assert ok(response)["userName"] == "bjensen"
    assert response.headers["Location"].endswith(f"/Users/{user['id']}")
    assert ok(me.patch("/Me", [{"op": "add", "path": "nickName", "value": "Babs"}]))["nickName"] == "Babs"


def test_me_without_a_bound_user_is_501(client: ScimClient) -> None:
    error(client.get("/Me"), 501)


def test_me_bound_to_a_deleted_user_is_404(app: Flask, make_token: Any, make_user: Any, client: ScimClient) -> None:
    user = make_user()
    client.delete(f"/Users/{user['id']}")
    me = ScimClient(app.test_client(), make_token("portal", ("read",), user_id=user["id"]))
    error(me.get("/Me"), 404)
