"""OneLogin's "SCIM Provisioner with SAML (SCIM v2 Enterprise)" connector.

Sources, cited by the tests:
- IMPL: OneLogin Developers, "Step 2. Implement RESTful SCIM APIs for Your App"
  (developers.onelogin.com/scim/implement-scim-api): the calls OneLogin makes and the "Example API Flow".
- SCHEMA: OneLogin Developers, "Define user schema" (developers.onelogin.com/scim/define-user-schema): the
  SCIM JSON Template whose rendering is the user body, with ``emails`` as a single object.
- SAMPLE: onelogin/onelogin-scim-node, OneLogin's sample SCIM server "that handles and responds to all of
  the SCIM requests made by OneLogin": GET/POST /Users, GET/PUT/DELETE /Users/:id, GET/POST /Groups,
  PATCH /Groups/:id — users are updated with PUT, groups with PATCH.
- django-scim2 (15five/django-scim2, adapters): "OneLogin sends a dict despite the spec" for ``emails``.
- Bitwarden, "OneLogin SCIM Integration" and Docker, "Configure your IdP" (OneLogin tab): the Enable
  test, role-based groups, the admin-added ``Content-Type`` custom header.

OneLogin sends ``Content-Type: application/json`` unless an admin adds a custom header (Docker's guide).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.clients.conftest import Auditor, Replay
from tests.conftest import ENTERPRISE, GROUP, LIFECYCLE, PATCH_OP, USER

HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def onelogin(replay: Callable[..., Replay]) -> Replay:
    return replay("onelogin", HEADERS)


def template(user_name: str = "jane.doe@example.com", **overrides: Any) -> dict[str, Any]:
    """A v2 Enterprise SCIM JSON Template as OneLogin renders it (SCHEMA, with the v2 URNs)."""
    body = {
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "name": {"familyName": "Doe", "givenName": "Jane"},
        "title": "Engineer",
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        ENTERPRISE: {"department": "R&D", "manager": {"value": "mgr-ext-id", "displayName": "Max Boss"}},
    }
    body.update(overrides)
    return body


def test_enable_looks_up_a_user_that_does_not_exist(onelogin: Replay) -> None:
    """IMPL: enabling the app "makes a Get User by userName request using a userName filter value that it
    knows is non-existent" and accepts 200 with an empty list."""
    for query in (
        '/Users?filter=userName eq "onelogin-nonexistent-user"',
        "/Users?filter=userName%20eq%20%22onelogin-nonexistent-user%22",
    ):
        assert onelogin.json("GET", query)["totalResults"] == 0


def test_provisioning_looks_up_then_creates(onelogin: Replay, auditor: Auditor) -> None:
    """IMPL "Example API Flow": every task starts with a userName lookup; no match means a POST of the
    rendered template (SAMPLE answers 201 with the id)."""
    assert onelogin.json("GET", '/Users?filter=userName eq "jane.doe@example.com"')["totalResults"] == 0

    created = onelogin.json("POST", "/Users", template(), status=201)

    stored = auditor.user(created["id"])
    assert stored["title"] == "Engineer"
    assert stored[ENTERPRISE]["manager"]["value"] == "mgr-ext-id"
    found = onelogin.json("GET", '/Users?filter=userName eq "jane.doe@example.com"')["Resources"]
    assert [user["id"] for user in found] == [created["id"]]


def test_a_template_with_a_single_email_object(onelogin: Replay, auditor: Auditor) -> None:
    """SCHEMA's templates give ``emails`` as one object, not an array, and admins copy them (django-scim2
    handles it). One object can only mean a list of one."""
    body = template(emails={"value": "jane.doe@example.com", "type": "work", "primary": True})

    created = onelogin.json("POST", "/Users", body, status=201)

    assert auditor.user(created["id"])["emails"] == [{"value": "jane.doe@example.com", "type": "work", "primary": True}]


def test_update_puts_the_whole_template(onelogin: Replay, auditor: Auditor) -> None:
    """SAMPLE: a user is updated with PUT of the rendered template and ``active``; multi-valued attributes
    arrive whole, and what the template no longer renders is gone."""
    user = onelogin.json("POST", "/Users", template(), status=201)
    body = template(
        title="Senior Engineer",
        emails=[{"value": "jane@example.com", "type": "work", "primary": True}],
        active=True,
    )
    body[ENTERPRISE] = {"department": "Platform"}

    onelogin.json("PUT", f"/Users/{user['id']}", body)

    stored = auditor.user(user["id"])
    assert stored["title"] == "Senior Engineer"
    assert stored["emails"] == [{"value": "jane@example.com", "type": "work", "primary": True}]
    assert stored[ENTERPRISE] == {"department": "Platform"}


def test_suspend_and_unsuspend_put_active(onelogin: Replay, auditor: Auditor) -> None:
    """Bitwarden's guide sets "When users are suspended in OneLogin" to Suspend: OneLogin PUTs the template
    with ``active`` false, and true again when the user is unsuspended (SAMPLE reads ``active`` on PUT).
    The policy's ``defaultMode`` (shipped: suspend) decides; credentials stay as they are."""
    user = onelogin.json("POST", "/Users", template(), status=201)
    card = auditor.card(user["id"])

    onelogin.json("PUT", f"/Users/{user['id']}", template(active=False))
    assert auditor.lifecycle(user["id"]) == (False, "suspended", None)
    assert auditor.card_states(card) == ("active", "valid")

    onelogin.json("PUT", f"/Users/{user['id']}", template(active=True))
    assert auditor.lifecycle(user["id"]) == (True, "active", None)


def test_a_template_that_renders_the_reason(onelogin: Replay, auditor: Auditor) -> None:
    """A template line ``"urn:scim-server:schemas:extension:lifecycle:2.0:User": {"reason": "{$parameters.reason}"}``
    (README, "OneLogin") carries the reason, and with it the deactivation and its cascade."""
    user = onelogin.json("POST", "/Users", template(), status=201)
    card = auditor.card(user["id"])
    body = template(active=False, schemas=[USER, ENTERPRISE, LIFECYCLE])
    body[LIFECYCLE] = {"reason": "leaveOfAbsence"}

    onelogin.json("PUT", f"/Users/{user['id']}", body)

    assert auditor.lifecycle(user["id"]) == (False, "deactivated", "leaveOfAbsence")
    assert auditor.card_states(card) == ("inactive", "onHold")


def test_a_template_that_renders_hr_dates(onelogin: Replay, auditor: Auditor, snapshot: Any) -> None:
    """The template can render a work relationship from custom parameters (README, "OneLogin"); a
    parameter with no value renders as ``""``, which is no date: 400, nothing stored."""
    relationship = {"value": "E-1001", "startDate": "2020-03-01T00:00:00Z", "terminationDate": ""}
    body = template(schemas=[USER, ENTERPRISE, LIFECYCLE])
    body[LIFECYCLE] = {"workRelationships": [relationship]}
    before = snapshot()

    refused = onelogin.send("POST", "/Users", body, status=400).get_json()

    assert refused["scimType"] == "invalidValue" and "terminationDate" in refused["detail"]
    assert snapshot() == before
    relationship["terminationDate"] = "2026-01-31T17:00:00Z"
    created = onelogin.json("POST", "/Users", body, status=201)
    assert auditor.lifecycle(created["id"])[:2] == (False, "suspended")
    assert auditor.user(created["id"])[LIFECYCLE]["workRelationships"][0]["status"] == "terminated"


def test_delete(onelogin: Replay, auditor: Auditor) -> None:
    """ "When users are deleted in OneLogin": Delete sends ``DELETE /Users/{id}`` (IMPL lists Delete User)."""
    user = onelogin.json("POST", "/Users", template(), status=201)

    onelogin.send("DELETE", f"/Users/{user['id']}", status=204)

    assert auditor.gone(f"/Users/{user['id']}")
    assert [action for action, _ in auditor.actions(user["id"])] == ["delete"]


def test_roles_become_groups(onelogin: Replay, auditor: Auditor) -> None:
    """IMPL lists Get Groups, Create Group and Patch Group; "Refresh Entitlements" reads the groups first.
    The member bodies are not published (SAMPLE only logs them): both removal forms real clients use are
    replayed, ids in ``value`` and one filter per member."""
    alice, bob, carol = (onelogin.json("POST", "/Users", template(f"{n}@example.com"), status=201) for n in "abc")
    assert onelogin.json("GET", "/Groups")["totalResults"] == 0

    group = onelogin.json("POST", "/Groups", {"schemas": [GROUP], "displayName": "Engineering"}, status=201)
    path = f"/Groups/{group['id']}"
    add = {"op": "add", "path": "members", "value": [{"value": u["id"]} for u in (alice, bob, carol)]}
    onelogin.send("PATCH", path, {"schemas": [PATCH_OP], "Operations": [add]}, status=200)
    remove = {"op": "remove", "path": "members", "value": [{"value": alice["id"]}]}
    onelogin.send("PATCH", path, {"schemas": [PATCH_OP], "Operations": [remove]}, status=200)
    remove = {"op": "remove", "path": f'members[value eq "{bob["id"]}"]'}
    onelogin.send("PATCH", path, {"schemas": [PATCH_OP], "Operations": [remove]}, status=200)

    assert auditor.members(group["id"]) == {carol["id"]}
    assert [g["displayName"] for g in onelogin.json("GET", "/Groups")["Resources"]] == ["Engineering"]


def test_get_users(onelogin: Replay) -> None:
    """IMPL lists Get Users; OneLogin gives no paging parameters, so the server's default page applies."""
    for n in range(3):
        onelogin.json("POST", "/Users", template(f"user{n}@example.com"), status=201)

    listed = onelogin.json("GET", "/Users")

    assert listed["totalResults"] == 3 and len(listed["Resources"]) == 3
