"""/LifecycleEvents: read-only, one per transition, audited with plain SCIM filters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import EVENT, ScimClient, error, ok
from tests.lifecycle.conftest import events, switch


def test_events_are_read_only(client: ScimClient, make_user: Any) -> None:
    user = make_user()
    switch(client, user, False, "parentalLeave")
    (event,) = events(client, user)
    error(client.post("/LifecycleEvents", {"schemas": [EVENT], "action": "deactivate"}), 405)
    error(client.put(f"/LifecycleEvents/{event['id']}", {"schemas": [EVENT]}), 405)
    error(client.patch(f"/LifecycleEvents/{event['id']}", [{"op": "replace", "path": "action", "value": "x"}]), 405)
    error(client.delete(f"/LifecycleEvents/{event['id']}"), 405)
    bulk = ok(
        client.post(
            "/Bulk",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [{"method": "DELETE", "path": f"/LifecycleEvents/{event['id']}"}],
            },
        )
    )
    assert int(bulk["Operations"][0]["status"]) == 405
    assert ok(client.get(f"/LifecycleEvents/{event['id']}")) == event


def test_an_event_records_who_what_when_and_why(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    user = make_user("bjensen")
    card = make_credential(user)
    switch(client, user, False, "leaveOfAbsence")
    (event,) = events(client, user)
    assert event["user"] == {
        "value": user["id"],
        "$ref": f"http://localhost/scim/v2/Users/{user['id']}",
        "display": "bjensen",
    }
    assert (event["action"], event["reason"], event["cause"], event["actor"]) == (
        "deactivate",
        "leaveOfAbsence",
        "manual",
        "tests",
    )
    assert event["occurred"] >= user["meta"]["created"]
    assert event["credentials"][0]["value"] == card["id"]


@pytest.mark.parametrize(
    ("template", "count"),
    [
        ('user.value eq "{id}"', 3),
        ('user.value eq "{id}" and action eq "deactivate"', 1),
        ('user.value eq "{id}" and occurred gt "2000-01-01T00:00:00Z"', 3),
        ('user.value eq "{id}" and occurred lt "2000-01-01T00:00:00Z"', 0),
        ('user.value eq "{id}" and credentials[to eq "inactive"]', 1),
        ('user.value eq "{id}" and rolesGained[value eq "user" and type eq "default"]', 1),
    ],
)
def test_governance_filters(
    client: ScimClient, make_user: Any, make_credential: Any, template: str, count: int
) -> None:
    user = make_user()
    make_credential(user)
    for active, reason in ((False, "securityReview"), (False, "parentalLeave"), (True, None)):
        switch(client, user, active, reason)
    body = ok(client.search("/LifecycleEvents", filter=template.format(id=user["id"])))
    assert body["totalResults"] == count


def test_writes_that_change_no_state_record_nothing(client: ScimClient, make_user: Any) -> None:
    user = make_user()
    ok(client.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": "x"}]))
    switch(client, user, True)
    assert events(client, user) == []


def test_delete_records_an_event(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    user = make_user(roles=[{"value": "guide"}])
    held = make_credential(user, "mobileId")
    client.delete(f"/Users/{user['id']}")
    (event,) = events(client, user, "delete")
    assert {(r["value"], r["type"]) for r in event["rolesLost"]} == {("guide", "manual"), ("user", "default")}
    assert event["credentials"] == [{"value": held["id"], "type": "mobileId", "from": "active", "to": "inactive"}]
    assert event["certificates"][0]["revocationReason"] == "affiliationChanged"
