"""Every transition of the state machine, over HTTP: state, roles, credentials, and the event it records."""

from __future__ import annotations

from typing import Any

import pytest

from extensions.lifecycle.machine import TRANSITIONS
from tests.conftest import ScimClient, ok
from tests.lifecycle.conftest import credential, events, issue, lifecycle, role_set, switch

REASON_OF = {"deactivate": "parentalLeave", "suspend": "securityReview"}
SETUP = {"active": None, "suspended": "suspend", "deactivated": "deactivate"}


def _bring_to(client: ScimClient, user: dict[str, Any], state: str) -> dict[str, Any]:
    if SETUP[state] is None:
        return ok(client.get(f"/Users/{user['id']}"))
    return switch(client, user, False, REASON_OF[SETUP[state]])


@pytest.mark.parametrize(("start", "request_"), list(TRANSITIONS))
def test_machine_table(client: ScimClient, make_user: Any, make_credential: Any, start: str, request_: str) -> None:
    user = make_user(roles=[{"value": "guide"}])
    held = make_credential(user, "card")
    before = _bring_to(client, user, start)
    before_events = len(events(client, user))

    after = switch(client, user, True) if request_ == "on" else switch(client, user, False, REASON_OF[request_])

    expected = TRANSITIONS[(start, request_)] or start
    assert lifecycle(after)["state"] == expected
    assert after["active"] is (expected == "active")
    if TRANSITIONS[(start, request_)] is None:
        # no transition: the state, roles and credentials stay, and nothing is recorded
        assert role_set(after) == role_set(before)
        assert credential(client, held)["state"] == ("inactive" if start == "deactivated" else "active")
        assert len(events(client, user)) == before_events
        repeated = switch(client, user, request_ == "on", None if request_ == "on" else REASON_OF[request_])
        assert repeated["meta"]["version"] == after["meta"]["version"]  # a sync client repeating itself
        return
    if expected == "deactivated":
        assert "roles" not in after
        assert credential(client, held)["state"] == "inactive"
    elif expected == "suspended" or start == "suspended":
        assert role_set(after) == role_set(before)
    else:  # from deactivated: default roles only
        assert role_set(after) == {("user", "default")}
    assert len(events(client, user)) == before_events + 1


def test_reactivation_from_deactivation_releases_holds_and_keeps_locks(
    client: ScimClient, make_user: Any, make_credential: Any
) -> None:
    user = make_user(roles=[{"value": "guide"}])
    card = make_credential(user, "card", certificates=["valid", "valid"])
    temporary = make_credential(user, "temporaryCard")
    phone = make_credential(user, "mobileId")
    switch(client, user, False, "parentalLeave")
    # while deactivated, an operator revokes one held certificate and locks the phone
    held = credential(client, card)
    held["certificates"][1]["state"] = "revoked"
    ok(client.put(f"/Credentials/{card['id']}", {k: v for k, v in held.items() if k not in ("id", "meta")}))
    ok(client.patch(f"/Credentials/{phone['id']}", [{"op": "replace", "path": "state", "value": "locked"}]))

    after = switch(client, user, True)

    assert (after["active"], lifecycle(after)["state"]) == (True, "active")
    assert "reason" not in lifecycle(after)
    assert role_set(after) == {("user", "default")}
    assert credential(client, card)["state"] == "active"
    assert [c["state"] for c in credential(client, card)["certificates"]] == ["valid", "revoked"]
    assert credential(client, temporary)["state"] == "locked"
    assert [c["state"] for c in credential(client, temporary)["certificates"]] == ["revoked"]
    assert credential(client, phone)["state"] == "locked"
    (event,) = events(client, user, "reactivate")
    assert event["rolesGained"] == [{"value": "user", "type": "default"}]
    assert event["credentials"] == [{"value": card["id"], "type": "card", "from": "inactive", "to": "active"}]
    assert [(c["serialNumber"], c["from"], c["to"]) for c in event["certificates"]] == [
        (card["certificates"][0]["serialNumber"], "onHold", "valid")
    ]


def test_escalation_then_reactivation_releases_what_both_held(policy_app: Any, make_user: Any) -> None:
    client = policy_app(
        """
[suspension]
card = { credential = "inactive", certificates = "onHold" }
"""
    )
    user = ok(
        client.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "escalated"}), 201
    )
    card = issue(client, user, "card")
    phone = issue(client, user, "mobileId")

    assert lifecycle(switch(client, user, False, "securityReview"))["state"] == "suspended"
    assert (credential(client, card)["state"], credential(client, phone)["state"]) == ("inactive", "active")
    assert lifecycle(switch(client, user, False, "parentalLeave"))["state"] == "deactivated"
    assert credential(client, phone)["state"] == "inactive"

    switch(client, user, True)

    assert credential(client, card)["state"] == "active"
    assert credential(client, phone)["state"] == "active"
    assert [c["state"] for c in credential(client, card)["certificates"]] == ["valid"]


def test_reactivation_from_suspension_keeps_roles(client: ScimClient, make_user: Any) -> None:
    user = make_user(roles=[{"value": "guide"}, {"value": "analyst", "type": "requested"}])
    switch(client, user, False, "securityReview")
    after = switch(client, user, True)
    assert role_set(after) == {("guide", "manual"), ("analyst", "requested"), ("user", "default")}
    assert lifecycle(after)["stateCause"] == "manual"


def test_locking_is_independent(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    from tests.conftest import LIFECYCLE

    user = make_user(roles=[{"value": "guide"}])
    held = make_credential(user)
    locked = ok(client.patch(f"/Users/{user['id']}", [{"op": "replace", "path": f"{LIFECYCLE}:locked", "value": True}]))
    assert lifecycle(locked)["locked"] is True and lifecycle(locked)["state"] == "active" and locked["active"] is True
    assert role_set(locked) == role_set(user) and credential(client, held) == held
    deactivated = switch(client, user, False, "parentalLeave")
    reactivated = switch(client, user, True)
    assert lifecycle(deactivated)["locked"] is True and lifecycle(reactivated)["locked"] is True
    unlocked = ok(
        client.patch(f"/Users/{user['id']}", [{"op": "replace", "path": f"{LIFECYCLE}:locked", "value": False}])
    )
    assert lifecycle(unlocked)["locked"] is False
    assert [e["action"] for e in events(client, user)] == ["lock", "deactivate", "reactivate", "unlock"]


def test_a_put_that_does_not_know_the_extension_changes_no_state(client: ScimClient, make_user: Any) -> None:
    from tests.conftest import LIFECYCLE, USER

    user = make_user("bjensen")
    switch(client, user, False, "securityReview")
    ok(client.patch(f"/Users/{user['id']}", [{"op": "replace", "path": f"{LIFECYCLE}:locked", "value": True}]))
    after = ok(client.put(f"/Users/{user['id']}", {"schemas": [USER], "userName": "bjensen", "title": "x"}))
    assert lifecycle(after)["state"] == "suspended" and lifecycle(after)["locked"] is True
    assert after["active"] is False
