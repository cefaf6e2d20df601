"""Reversals (source 004, "Automatic Reactivation of User Accounts"): undo exactly what the termination did."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ENTERPRISE
from tests.hr.conftest import ALUMNI, HR, NOW, RELATIONSHIPS, iso, relationship, roles, state, statuses
from tests.lifecycle.conftest import credential, issue, switch

PAST = NOW - datetime.timedelta(hours=1)
CLIENT_ROLES = [{"value": "guide"}, {"value": "analyst", "type": "requested"}]


def _undo(hr: HR, user: dict[str, Any], how: str) -> dict[str, Any]:
    if how == "date removed":
        return hr.reverse(user, "E1")
    return hr.patch(
        user,
        {
            "op": "replace",
            "path": f'{RELATIONSHIPS}[value eq "E1"].terminationDate',
            "value": iso(NOW + datetime.timedelta(days=30)),
        },
    )


@pytest.mark.parametrize("how", ["date removed", "date moved into the future"])
def test_reversal_after_automatic_suspension(hr: HR, how: str) -> None:
    user = hr.hire("bjensen", relationship("E1"), roles=CLIENT_ROLES)
    hr.terminate(user, "E1", PAST)

    after = _undo(hr, user, how)

    assert state(after) == (True, "active", "automatic")
    assert roles(after) == roles(user)
    assert statuses(after)["E1"] == "active"
    (event,) = hr.events(user, "reverseTermination")
    assert {(r["value"], r["type"]) for r in event["rolesGained"]} == roles(user)
    assert (event["stateFrom"], event["stateTo"], event["workRelationship"]) == ("suspended", "active", "E1")
    if how == "date moved into the future":  # and the new date falls due in its time
        assert hr.run_due(NOW + datetime.timedelta(days=30)) == 1
        assert state(hr.get(user))[1] == "suspended"


def test_an_automatic_suspension_holds_credentials_and_its_reversal_releases_them(make_hr: Callable[..., HR]) -> None:
    """Suspended by a termination or by hand, a suspension applies the policy's suspension table."""
    hr = make_hr('[suspension]\ncard = { credential = "inactive", certificates = "onHold" }\n')
    user = hr.hire("bjensen", relationship("E1"))
    card, phone = issue(hr.client, user, "card"), issue(hr.client, user, "mobileId")

    hr.terminate(user, "E1", PAST)
    held = credential(hr.client, card)
    assert (held["state"], held["certificates"][0]["state"]) == ("inactive", "onHold")
    assert credential(hr.client, phone)["state"] == "active"
    (event,) = hr.events(user, "terminate")
    assert [(c["value"], c["from"], c["to"]) for c in event["credentials"]] == [(card["id"], "active", "inactive")]

    hr.reverse(user, "E1")
    released = credential(hr.client, card)
    assert (released["state"], released["certificates"][0]["state"]) == ("active", "valid")


def test_reversal_drops_what_the_termination_gave(make_hr: Callable[..., HR]) -> None:
    hr = make_hr(ALUMNI)
    user = hr.hire("bjensen", relationship("E1"), roles=CLIENT_ROLES)
    assert ("alumni", "auto") in roles(hr.terminate(user, "E1", PAST))

    after = hr.reverse(user, "E1")

    assert roles(after) == roles(user)
    (event,) = hr.events(user, "reverseTermination")
    assert event["rolesLost"] == [{"value": "alumni", "type": "auto"}]


@pytest.mark.parametrize(
    "manual",
    [
        pytest.param(lambda hr, user: switch(hr.client, user, False, "securityReview"), id="suspended by hand before"),
        pytest.param(None, id="suspended by hand after"),
    ],
)
def test_a_manual_suspension_survives_the_reversal(hr: HR, manual: Any) -> None:
    user = hr.hire("bjensen", relationship("E1"), roles=CLIENT_ROLES)
    if manual is not None:
        manual(hr, user)
    hr.terminate(user, "E1", PAST)
    if manual is None:  # an operator suspends the account the termination suspended: the suspension becomes theirs
        assert state(switch(hr.client, user, False, "securityReview")) == (False, "suspended", "manual")

    after = hr.reverse(user, "E1")

    assert state(after) == (False, "suspended", "manual")


def test_roles_removed_by_hand_are_not_restored(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"), relationship("E2"), roles=CLIENT_ROLES)
    hr.patch(user, {"op": "remove", "path": 'roles[value eq "guide"]'})  # an operator, around the termination
    hr.terminate(user, "E1", PAST)
    hr.terminate(user, "E2", PAST)

    after = hr.reverse(user, "E2")

    assert ("guide", "manual") not in roles(after)
    assert ("analyst", "requested") in roles(after)
    assert state(after)[1] == "active"


def test_a_reversal_runs_autoprovisioning(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    hr.terminate(user, "E1", PAST)
    hr.patch(user, {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Sales"})  # while terminated

    after = hr.reverse(user, "E1")

    assert ("sales", "auto") in roles(after)


def test_a_deactivated_user_stays_deactivated(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    hr.terminate(user, "E1", PAST)
    switch(hr.client, user, False, "termination")
    after = hr.reverse(user, "E1")
    assert state(after) == (False, "deactivated", "manual")
    assert "roles" not in after
