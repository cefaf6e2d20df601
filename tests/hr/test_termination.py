"""Terminations (source 004, "Automatic Suspension of User Accounts"), table-driven.

Each row: the policy, the relationships a worker has, its department, and
what the termination of E1 leaves — roles and state — with the terminate
event recording exactly the difference.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from tests.hr.conftest import ALUMNI, HR, NOW, relationship, roles, state, statuses

PAST = NOW - datetime.timedelta(hours=1)
CLIENT_ROLES = [{"value": "guide"}, {"value": "analyst", "type": "requested"}]
HIRED = {("user", "default"), ("guide", "manual"), ("analyst", "requested"), ("staff-portal", "auto")}

SCENARIOS = [
    pytest.param(
        "", ["E1"], None, set(), (False, "suspended", "automatic"), id="only relationship: no role left, suspended"
    ),
    pytest.param(
        "", ["E1", "E2"], None, HIRED, (True, "active", "manual"), id="another relationship active: every role kept"
    ),
    pytest.param(
        "",
        ["E1"],
        "Finance",
        {("finance", "auto")},
        (True, "active", "manual"),
        id="a mapping still matches: kept, active",
    ),
    pytest.param(
        ALUMNI,
        ["E1"],
        None,
        {("alumni", "auto")},
        (True, "active", "manual"),
        id="a mapping matches leavers: gained, active",
    ),
    pytest.param(
        "userAccountMaintenance = false\n",
        ["E1"],
        None,
        set(),
        (True, "active", "manual"),
        id="maintenance off: not suspended",
    ),
]


@pytest.mark.parametrize(("extra", "held", "department", "expected_roles", "expected_state"), SCENARIOS)
def test_termination(
    make_hr: Callable[..., HR],
    extra: str,
    held: list[str],
    department: str | None,
    expected_roles: set[tuple[str, str]],
    expected_state: tuple[Any, ...],
) -> None:
    hr = make_hr(extra)
    user = hr.hire("bjensen", *[relationship(value) for value in held], department=department, roles=CLIENT_ROLES)
    hired = roles(user)
    assert hired >= HIRED

    after = hr.terminate(user, "E1", PAST)

    assert roles(after) == expected_roles
    assert state(after) == expected_state
    assert statuses(after)["E1"] == "terminated"
    (event,) = hr.events(user, "terminate")
    assert (event["workRelationship"], event["cause"], event["actor"]) == ("E1", "automatic", "workday")
    assert {(r["value"], r["type"]) for r in event.get("rolesLost", [])} == hired - expected_roles
    assert {(r["value"], r["type"]) for r in event.get("rolesGained", [])} == expected_roles - hired
    assert (event["stateFrom"], event["stateTo"]) == ("active", expected_state[1])


@pytest.mark.parametrize(
    ("timing", "terminated_on", "applied_at"),
    [
        ("onTerminationDate", NOW + datetime.timedelta(days=3), NOW + datetime.timedelta(days=3)),
        ("dayAfterTermination", NOW + datetime.timedelta(days=3), datetime.datetime(2026, 6, 19, tzinfo=datetime.UTC)),
        ("dayAfterTermination", NOW - datetime.timedelta(hours=1), datetime.datetime(2026, 6, 16, tzinfo=datetime.UTC)),
    ],
    ids=["on the date", "the day after", "today, roles lost tomorrow"],
)
def test_role_loss_timing(hr: HR, timing: str, terminated_on: datetime.datetime, applied_at: datetime.datetime) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    waiting = hr.terminate(user, "E1", terminated_on, timing)
    assert statuses(waiting)["E1"] == "active" and state(waiting)[1] == "active"

    assert hr.run_due(applied_at - datetime.timedelta(seconds=1)) == 0
    assert state(hr.get(user))[1] == "active"
    assert hr.run_due(applied_at) == 1

    after = hr.get(user)
    assert statuses(after)["E1"] == "terminated" and state(after) == (False, "suspended", "automatic")
    (event,) = hr.events(user, "terminate")
    assert event["occurred"].startswith(applied_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert event["actor"] == "system"
    assert hr.run_due(applied_at + datetime.timedelta(days=30)) == 0


def test_the_policy_sets_the_default_timing(make_hr: Callable[..., HR]) -> None:
    hr = make_hr('defaultRoleLossTiming = "dayAfterTermination"\n')
    user = hr.hire("bjensen", relationship("E1"))
    assert state(hr.terminate(user, "E1", NOW - datetime.timedelta(hours=1)))[1] == "active"
    assert hr.run_due(datetime.datetime(2026, 6, 16, tzinfo=datetime.UTC)) == 1


def test_a_termination_in_the_hire_itself(hr: HR) -> None:
    """Historic HR data: a worker created with a relationship that already ended."""
    user = hr.hire("leaver", relationship("E1", end=NOW - datetime.timedelta(days=10)))
    assert state(user) == (False, "suspended", "automatic")
    assert [e["action"] for e in hr.events(user)] == ["terminate"]


def test_changing_or_removing_a_future_date_replaces_the_pending_item(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    hr.terminate(user, "E1", NOW + datetime.timedelta(days=5))
    hr.terminate(user, "E1", NOW + datetime.timedelta(days=10))
    assert hr.run_due(NOW + datetime.timedelta(days=6)) == 0
    hr.reverse(user, "E1")
    assert hr.run_due(NOW + datetime.timedelta(days=11)) == 0
    assert state(hr.get(user))[1] == "active"
    assert hr.events(user, "terminate") == []


def test_a_deleted_users_pending_termination_is_dropped(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    hr.terminate(user, "E1", NOW + datetime.timedelta(days=5))
    hr.client.delete(f"/Users/{user['id']}")
    assert hr.run_due(NOW + datetime.timedelta(days=6)) == 0
