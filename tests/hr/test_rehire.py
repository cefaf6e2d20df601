"""Rehires (source 004): a new relationship after every earlier one ended reactivates the account afresh."""

from __future__ import annotations

import datetime

from tests.conftest import LIFECYCLE
from tests.hr.conftest import HR, NOW, relationship, roles, state, statuses
from tests.lifecycle.conftest import issue, switch

PAST = NOW - datetime.timedelta(days=60)


def test_rehire_reactivates_with_default_and_mapped_roles_only(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"), roles=[{"value": "guide"}])
    hr.terminate(user, "E1", PAST)
    assert state(hr.get(user))[1] == "suspended"

    after = hr.add_relationship(user, relationship("E2", start=NOW - datetime.timedelta(days=1)))

    assert state(after) == (True, "active", "automatic")
    assert roles(after) == {("user", "default"), ("staff-portal", "auto")}  # guide is not restored
    assert statuses(after) == {"E1": "terminated", "E2": "active"}
    (event,) = hr.events(user, "rehire")
    assert (event["stateFrom"], event["stateTo"], event["cause"]) == ("suspended", "active", "automatic")


def test_a_locked_account_stays_locked(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    hr.patch(user, {"op": "replace", "path": f"{LIFECYCLE}:locked", "value": True})
    hr.terminate(user, "E1", PAST)
    after = hr.add_relationship(user, relationship("E2"))
    assert state(after)[1] == "active"
    assert after[LIFECYCLE]["locked"] is True


def test_rehire_of_a_deactivated_worker_releases_its_credentials(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    card = issue(hr.client, user, "card")
    hr.terminate(user, "E1", PAST)
    switch(hr.client, user, False, "termination")
    from tests.lifecycle.conftest import credential

    assert credential(hr.client, card)["state"] == "inactive"

    hr.add_relationship(user, relationship("E2"))

    assert credential(hr.client, card)["state"] == "active"


def test_a_second_relationship_while_one_is_active_is_no_rehire(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    after = hr.add_relationship(user, relationship("E2"))
    assert hr.events(user, "rehire") == []
    assert state(after) == (True, "active", "manual")
