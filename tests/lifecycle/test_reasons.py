"""Reasons: one of the policy's, or 400 invalidValue with nothing changed; their mode decides the transition."""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.policy import REASONS
from tests.conftest import LIFECYCLE, USER, ScimClient, error
from tests.lifecycle.conftest import WAYS, bulk_turn_off, lifecycle, switch


@pytest.mark.parametrize("reason", REASONS, ids=lambda r: r.code)
def test_every_shipped_reason_has_its_mode(client: ScimClient, make_user: Any, reason: Any) -> None:
    user = make_user()
    after = switch(client, user, False, reason.code)
    assert lifecycle(after)["state"] == {"deactivate": "deactivated", "suspend": "suspended"}[reason.mode]
    assert lifecycle(after)["reason"] == reason.code


@pytest.mark.parametrize("way", [w for w in WAYS if w != "Bulk"])
def test_an_unknown_reason_is_refused_and_changes_nothing(
    client: ScimClient, make_user: Any, make_credential: Any, snapshot: Any, way: str
) -> None:
    user = make_user()
    make_credential(user)
    before = snapshot()
    response = WAYS[way](client, user, False, "holiday")
    error(response, 400, "invalidValue")
    assert "holiday" in response.get_json()["detail"]
    assert snapshot() == before


def test_an_unknown_reason_in_bulk_fails_its_operation_alone(client: ScimClient, make_user: Any) -> None:
    from tests.conftest import ok

    user = make_user()
    other = make_user()
    assert bulk_turn_off(client, [(user["id"], "holiday"), (other["id"], "parentalLeave")]) == [400, 200]
    assert ok(client.get(f"/Users/{user['id']}"))["active"] is True
    assert ok(client.get(f"/Users/{other['id']}"))["active"] is False


def test_an_unknown_reason_on_creation_is_refused(client: ScimClient, snapshot: Any) -> None:
    before = snapshot()
    error(
        client.post("/Users", {"schemas": [USER], "userName": "x", "active": False, LIFECYCLE: {"reason": "nope"}}),
        400,
        "invalidValue",
    )
    assert snapshot() == before


def test_read_only_lifecycle_attributes_cannot_be_written(client: ScimClient, make_user: Any) -> None:
    user = make_user()
    error(
        client.patch(f"/Users/{user['id']}", [{"op": "replace", "path": f"{LIFECYCLE}:state", "value": "deactivated"}]),
        400,
        "mutability",
    )


def test_a_reason_set_ahead_decides_the_next_turn_off(client: ScimClient, make_user: Any) -> None:
    from tests.conftest import ok

    user = make_user()
    ahead = ok(
        client.patch(f"/Users/{user['id']}", [{"op": "add", "path": f"{LIFECYCLE}:reason", "value": "parentalLeave"}])
    )
    assert (ahead["active"], lifecycle(ahead)["state"], lifecycle(ahead)["reason"]) == (True, "active", "parentalLeave")

    after = ok(client.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}]))

    assert (lifecycle(after)["state"], lifecycle(after)["reason"]) == ("deactivated", "parentalLeave")


def test_the_reason_of_each_transition_stays_in_its_event(client: ScimClient, make_user: Any) -> None:
    from tests.conftest import ok
    from tests.lifecycle.conftest import events

    user = make_user()
    switch(client, user, False, "parentalLeave")
    after = ok(
        client.patch(
            f"/Users/{user['id']}", [{"op": "replace", "path": f"{LIFECYCLE}:reason", "value": "securityReview"}]
        )
    )
    assert (lifecycle(after)["state"], lifecycle(after)["reason"]) == ("deactivated", "securityReview")
    reactivated = switch(client, user, True)
    assert "reason" not in lifecycle(reactivated)
    assert [(e["action"], e.get("reason")) for e in events(client, user)] == [
        ("deactivate", "parentalLeave"),
        ("reactivate", None),
    ]
