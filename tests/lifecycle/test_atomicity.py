"""A transition commits whole or not at all: a failure half-way through a cascade changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scim_server import create_app
from scim_server.registry import Registry, installed_plugins
from tests.conftest import USER, ScimClient, ok
from tests.lifecycle.conftest import WAYS, bulk_turn_off, issue


def explode_on_marked_credentials(context: Any, resource_type: str, before: Any, after: Any) -> None:
    """Injected fault: moving a credential whose serial number says so fails, after others have moved."""
    if before is not None and after is not None and after.serial_number == "EXPLODE" and before.state != after.state:
        raise RuntimeError("injected failure in the middle of a cascade")


def plugin(registry: Registry) -> None:
    registry.add_write_hook(explode_on_marked_credentials, resource_types=["Credential"])


@pytest.fixture
def faulty(database_url: str, state: Any, make_token: Any) -> Iterator[ScimClient]:
    app = create_app(
        {"SCIM_DATABASE_URL": database_url, "SCIM_LOG_LEVEL": "ERROR"}, plugins=[*installed_plugins(), plugin]
    )
    yield ScimClient(app.test_client(), make_token())
    app.extensions["scim_server"].engine.dispose()


@pytest.mark.parametrize("way", [w for w in WAYS if w != "Bulk"])
def test_a_failing_cascade_rolls_everything_back(faulty: ScimClient, snapshot: Any, way: str) -> None:
    user = _user_with_two_cards(faulty)
    before = snapshot()

    response = WAYS[way](faulty, user, False, "parentalLeave")

    assert response.status_code == 500
    assert snapshot() == before


def test_a_failing_cascade_in_bulk_rolls_back_its_operation_only(faulty: ScimClient, snapshot: Any) -> None:
    user = _user_with_two_cards(faulty)
    other = ok(faulty.post("/Users", {"schemas": [USER], "userName": "other"}), 201)
    before = snapshot()
    assert bulk_turn_off(faulty, [(user["id"], "parentalLeave"), (other["id"], "parentalLeave")]) == [500, 200]
    assert ok(faulty.get(f"/Users/{user['id']}"))["active"] is True
    assert ok(faulty.get(f"/Users/{other['id']}"))["active"] is False
    assert snapshot() != before


def _user_with_two_cards(client: ScimClient) -> dict[str, Any]:
    user = ok(client.post("/Users", {"schemas": [USER], "userName": "bjensen", "roles": [{"value": "guide"}]}), 201)
    for serial in ("FIRST", "EXPLODE"):
        issue(client, user, "card", serial=serial)
    return user
