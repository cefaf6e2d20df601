"""Deactivation (source 000): roles withdrawn, each credential and its certificates to the policy's end state.

Parametrised over the shipped cascade table and over every way a client can
say ``active=false``: they must all do the same thing.
"""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.policy import DEACTIVATION
from tests.conftest import ScimClient
from tests.lifecycle.conftest import WAYS, credential, events, lifecycle, role_set, switch

CASCADE = [(kind, end.credential, end.certificates) for kind, end in DEACTIVATION.items()]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(("kind", "credential_end", "certificate_end"), CASCADE)
def test_deactivation_moves_every_credential_type_to_its_end_state(
    client: ScimClient,
    make_user: Any,
    make_credential: Any,
    way: str,
    kind: str,
    credential_end: str,
    certificate_end: str,
) -> None:
    user = make_user("bjensen", roles=[{"value": "guide"}])
    held = make_credential(user, kind, certificates=["valid", "valid"])

    after = switch(client, user, False, "parentalLeave", way)

    assert after["active"] is False
    assert lifecycle(after)["state"] == "deactivated"
    assert lifecycle(after)["stateCause"] == "manual"
    assert lifecycle(after)["reason"] == "parentalLeave"
    assert "roles" not in after
    moved = credential(client, held)
    assert moved["state"] == credential_end
    assert [c["state"] for c in moved["certificates"]] == [certificate_end, certificate_end]
    assert moved["user"]["value"] == user["id"]
    (event,) = events(client, user, "deactivate")
    assert event["reason"] == "parentalLeave" and event["cause"] == "manual" and event["actor"] == "tests"
    assert {(r["value"], r["type"]) for r in event["rolesLost"]} == {("guide", "manual"), ("user", "default")}
    assert event["credentials"] == [{"value": held["id"], "type": kind, "from": "active", "to": credential_end}]
    assert sorted(c["to"] for c in event["certificates"]) == [certificate_end, certificate_end]


@pytest.mark.parametrize("way", WAYS)
def test_suspension_touches_nothing(client: ScimClient, make_user: Any, make_credential: Any, way: str) -> None:
    user = make_user("bjensen", roles=[{"value": "guide"}])
    held = make_credential(user, "card")

    after = switch(client, user, False, "securityReview", way)

    assert (after["active"], lifecycle(after)["state"]) == (False, "suspended")
    assert role_set(after) == {("guide", "manual"), ("user", "default")}
    assert credential(client, held) == held
    (event,) = events(client, user, "suspend")
    assert "credentials" not in event and "rolesLost" not in event


def test_no_reason_follows_the_default_mode(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    user = make_user()
    held = make_credential(user)
    after = switch(client, user, False)
    assert lifecycle(after)["state"] == "suspended"  # shipped defaultMode: the change that loses nothing
    assert credential(client, held)["state"] == "active"


def test_only_active_credentials_and_valid_certificates_move(
    client: ScimClient, make_user: Any, make_credential: Any
) -> None:
    user = make_user()
    locked = make_credential(user, "card", state="locked", certificates=["valid", "revoked", "onHold"])
    inactive = make_credential(user, "mobileId", state="inactive", certificates=["valid"])

    switch(client, user, False, "leaveOfAbsence")

    assert credential(client, locked)["state"] == "locked"
    assert [c["state"] for c in credential(client, locked)["certificates"]] == ["onHold", "revoked", "onHold"]
    assert credential(client, inactive)["state"] == "inactive"
    (event,) = events(client, user, "deactivate")
    assert "credentials" not in event
    assert len(event["certificates"]) == 2


def test_certificates_record_why_and_when(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    user = make_user()
    card = make_credential(user, "card")
    temporary = make_credential(user, "temporaryCard")
    switch(client, user, False, "parentalLeave")
    held, revoked = credential(client, card)["certificates"][0], credential(client, temporary)["certificates"][0]
    assert (held["state"], held["revocationReason"]) == ("onHold", "certificateHold")
    assert (revoked["state"], revoked["revocationReason"]) == ("revoked", "privilegeWithdrawn")
    assert held["stateChanged"] > card["meta"]["created"]


def test_a_user_created_inactive_is_turned_off_at_once(client: ScimClient) -> None:
    from tests.conftest import LIFECYCLE, USER, ok

    created = ok(
        client.post(
            "/Users", {"schemas": [USER], "userName": "leaver", "active": False, LIFECYCLE: {"reason": "termination"}}
        ),
        201,
    )

    assert (created["active"], lifecycle(created)["state"]) == (False, "deactivated")
    assert "roles" not in created
    assert [e["action"] for e in events(client, created)] == ["deactivate"]
