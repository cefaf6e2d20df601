"""Role mappings: auto roles on creation, for movers, and on demand; never a reactivation."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.cli.test_cli import run
from tests.conftest import ENTERPRISE
from tests.hr.conftest import HR, MAPPINGS, NOW, relationship, roles, state
from tests.lifecycle.conftest import switch


def test_creation_grants_the_mapped_roles(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"), department="Finance")
    assert roles(user) == {("user", "default"), ("finance", "auto"), ("staff-portal", "auto")}
    (event,) = hr.events(user, "autoprovision")
    assert event["cause"] == "automatic"


@pytest.mark.parametrize(
    ("write", "gained", "lost"),
    [
        ({"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Sales"}, {"sales"}, {"finance"}),
        ({"op": "replace", "value": {f"{ENTERPRISE}:department": "Sales"}}, {"sales"}, {"finance"}),
        ({"op": "remove", "path": f"{ENTERPRISE}:department"}, set(), {"finance"}),
        ({"op": "replace", "path": "title", "value": "Controller"}, set(), set()),
    ],
    ids=["mover with path", "mover without path", "department removed", "unrelated change"],
)
def test_movers_gain_and_lose_at_once(hr: HR, write: dict[str, Any], gained: set[str], lost: set[str]) -> None:
    user = hr.hire("bjensen", relationship("E1"), department="Finance")

    after = hr.patch(user, write)

    auto = {value for value, kind in roles(after) if kind == "auto"}
    assert auto == ({"finance", "staff-portal"} - lost) | gained
    movers = hr.events(user, "autoprovision")[1:]
    if gained or lost:
        (event,) = movers
        assert {r["value"] for r in event.get("rolesGained", [])} == gained
        assert {r["value"] for r in event.get("rolesLost", [])} == lost
    else:
        assert movers == []


def test_an_auto_role_removed_by_name_is_not_granted_back_by_an_unrelated_write(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"), department="Finance")
    hr.patch(user, {"op": "remove", "path": 'roles[value eq "finance"]'})
    after = hr.patch(user, {"op": "replace", "path": "title", "value": "x"})
    assert ("finance", "auto") not in roles(after)


def _autoprovision(hr: HR, user: dict[str, Any], token: str) -> Any:
    return hr.client.flask.post(
        f"/admin/users/{user['id']}/autoprovision", headers={"Authorization": f"Bearer {token}"}
    )


def test_on_demand_grants_again_and_never_reactivates(hr: HR, make_token: Any) -> None:
    user = hr.hire("bjensen", relationship("E1"), department="Finance")
    hr.patch(user, {"op": "remove", "path": 'roles[value eq "finance"]'})
    switch(hr.client, user, False, "securityReview")

    response = _autoprovision(hr, user, make_token("ops", ("admin",)))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["rolesGained"] == [{"value": "finance", "type": "auto"}]
    after = hr.get(user)
    assert ("finance", "auto") in roles(after)
    assert state(after) == (False, "suspended", "manual")
    assert hr.events(user, "autoprovision")[-1]["cause"] == "manual"


def test_on_demand_needs_admin_and_refuses_deactivated_users(hr: HR, make_token: Any) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    assert _autoprovision(hr, user, make_token("idp", ("read", "write"))).status_code == 403
    switch(hr.client, user, False, "parentalLeave")
    refused = _autoprovision(hr, user, make_token("ops", ("admin",)))
    assert refused.status_code == 409 and refused.get_json()["error"] == "conflict"
    missing = _autoprovision(hr, {"id": "0" * 32}, make_token("ops", ("admin",)))
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_on_demand_from_the_command_line(database_url: str, tmp_path: Any, hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"), department="Finance")
    hr.patch(user, {"op": "remove", "path": 'roles[value eq "finance"]'})
    policy = tmp_path / "cli.toml"
    policy.write_text(MAPPINGS)
    result = run(database_url, "lifecycle", "autoprovision", user["id"], extra_env=[("SCIM_POLICY_FILE", str(policy))])
    assert "gained: finance" in result.stdout
    assert ("finance", "auto") in roles(hr.get(user))


def test_run_due_from_the_command_line(database_url: str, tmp_path: Any, hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    hr.terminate(user, "E1", NOW + datetime.timedelta(days=2))
    policy = tmp_path / "cli.toml"
    policy.write_text(MAPPINGS)
    env = [("SCIM_POLICY_FILE", str(policy))]
    assert (
        "applied 0" in run(database_url, "lifecycle", "run-due", "--now", "2026-06-16T12:00:00", extra_env=env).stdout
    )
    assert (
        "applied 1"
        in run(database_url, "lifecycle", "run-due", "--now", "2026-06-18T00:00:00+00:00", extra_env=env).stdout
    )
    assert state(hr.get(user))[1] == "suspended"
