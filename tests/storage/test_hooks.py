"""Write hooks: how extensions (the lifecycle rules) act inside the transaction of a write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from scim2_models import InvalidValueException

from scim_server import create_app
from scim_server.registry import Registry, installed_plugins
from scim_server.storage.sql import WriteContext
from tests.conftest import USER, ScimClient, error, ok

SEEN: list[tuple[str, str | None, str | None, str]] = []


def audit_hook(context: WriteContext, resource_type: str, before: Any, after: Any) -> None:
    """Records every write; refuses one name; stamps a title; fails on demand after a write of its own."""
    name = getattr(after, "user_name", None)
    SEEN.append((resource_type, getattr(before, "user_name", None), name, context.actor.client))
    if name == "refused":
        raise InvalidValueException(detail="this name is refused by a hook")
    if after is not None and resource_type == "User" and not after.title:
        after.title = "stamped by hook"
    if name == "explode":
        from scim_server.storage.tables import ResourceRow

        context.session.execute(ResourceRow.__table__.delete())  # a half-done cascade...
        raise RuntimeError("injected failure in the middle of a write")


def plugin(registry: Registry) -> None:
    registry.add_write_hook(audit_hook, resource_types=["User"])


@pytest.fixture
def hooked(database_url: str, state: Any, make_token: Any) -> Iterator[ScimClient]:
    plugins = [*installed_plugins(), plugin]
    app: Flask = create_app({"SCIM_DATABASE_URL": database_url, "SCIM_LOG_LEVEL": "ERROR"}, plugins=plugins)
    SEEN.clear()
    yield ScimClient(app.test_client(), make_token("hook-tests"))
    app.extensions["scim_server"].engine.dispose()


def test_hooks_see_every_write_with_its_actor(hooked: ScimClient) -> None:
    user = ok(hooked.post("/Users", {"schemas": [USER], "userName": "alice"}), 201)
    ok(hooked.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "userName", "value": "alicia"}]))
    hooked.delete(f"/Users/{user['id']}")
    assert SEEN == [
        ("User", None, "alice", "hook-tests"),
        ("User", "alice", "alicia", "hook-tests"),
        ("User", "alicia", None, "hook-tests"),
    ]


def test_a_hook_can_change_what_is_stored(hooked: ScimClient) -> None:
    user = ok(hooked.post("/Users", {"schemas": [USER], "userName": "bob"}), 201)
    assert user["title"] == "stamped by hook"
    assert ok(hooked.get(f"/Users/{user['id']}"))["title"] == "stamped by hook"


def test_a_hook_can_refuse_a_write(hooked: ScimClient, snapshot: Any) -> None:
    before = snapshot()
    error(hooked.post("/Users", {"schemas": [USER], "userName": "refused"}), 400, "invalidValue")
    assert snapshot() == before


def test_a_failing_hook_rolls_the_whole_write_back(hooked: ScimClient, snapshot: Any) -> None:
    ok(hooked.post("/Users", {"schemas": [USER], "userName": "survivor"}), 201)
    before = snapshot()
    response = hooked.post("/Users", {"schemas": [USER], "userName": "explode"})
    assert response.status_code == 500
    assert response.get_json()["detail"] == "internal server error"
    assert snapshot() == before
