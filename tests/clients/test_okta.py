"""Okta lifecycle management: OIN catalogue integrations and App Integration Wizard (AIW) integrations.

Sources, cited by the tests:
- REF: Okta, "SCIM 2.0 protocol reference" (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20;
  okta/okta-developer-docs, packages/@okta/vuepress-site/docs/reference/scim/scim-20/scim-index.md).
- FAQ: Okta, "SCIM technical questions" (docs/concepts/scim/faqs): OIN templates update with PATCH, AIW
  integrations with PUT; Okta never deletes users.
- LEGACY: Okta, "SCIM Provisioning with Lifecycle Management" (oktadeveloper/okta-blog-archive,
  _source/_standards/SCIM/index.md), which shows captured requests with their headers.
- SPEC: "Okta SCIM 2.0 SPEC Test" (okta/okta-developer-docs, .vuepress/public/standards/SCIM/SCIMFiles/
  Okta-SCIM-20-SPEC-Test.json), the test an OIN submission must pass.

Okta sends ``Accept: application/scim+json``, ``Accept-Charset: utf-8``, ``Content-Type:
application/scim+json; charset=utf-8`` and ``User-Agent: Okta SCIM Client 1.0.0`` (LEGACY).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.clients.conftest import Auditor, Replay
from tests.conftest import ENTERPRISE, GROUP, LIFECYCLE, PATCH_OP, USER

HEADERS = {
    "Accept": "application/scim+json",
    "Accept-Charset": "utf-8",
    "Content-Type": "application/scim+json; charset=utf-8",
    "User-Agent": "Okta SCIM Client 1.0.0",
}
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@pytest.fixture(params=["OIN", "AIW"])
def okta(request: pytest.FixtureRequest, replay: Callable[..., Replay]) -> Replay:
    return replay("okta", HEADERS, variant=request.param)


def create_user(okta: Replay, user_name: str = "test.user@okta.local", **extra: Any) -> dict[str, Any]:
    """REF "Create the User", verbatim but for the name: ``password`` is a placeholder Okta always sends,
    ``groups`` is always empty, ``externalId`` is Okta's user id."""
    body = {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
        **extra,
    }
    created: dict[str, Any] = okta.json("POST", "/Users", body, status=201)
    return created


def update(okta: Replay, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """REF "Update the User": Okta reads the user, merges its changes into what it read, and PUTs the result
    back — ``id``, ``meta`` and all (LEGACY shows the echoed ``meta``)."""
    current = okta.json("GET", f"/Users/{user_id}")
    current.update(changes)
    answer: dict[str, Any] = okta.json("PUT", f"/Users/{user_id}", current)
    return answer


def set_active(okta: Replay, user_id: str, active: bool) -> None:
    """REF "Update a specific User (PATCH)": an OIN integration PATCHes ``{"active": …}`` without a path;
    an AIW integration PUTs the whole user (REF; FAQ: "use PUT by default")."""
    if okta.variant == "OIN":
        body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": active}}]}
        assert okta.json("PATCH", f"/Users/{user_id}", body)["active"] is active
    else:
        assert update(okta, user_id, {"active": active})["active"] is active


def test_test_connection_reads_the_first_users_and_groups(okta: Replay, auditor: Auditor) -> None:
    """LEGACY and the SCIM 1.1 reference: saving the provisioning settings reads
    ``/Users?startIndex=1&count=2`` and ``/Groups?startIndex=1&count=100``; the numbers must be integers."""
    create_user(okta)
    for query in ("/Users?startIndex=1&count=2", "/Groups?startIndex=1&count=100"):
        answer = okta.json("GET", query)
        assert answer["schemas"] == [LIST]
        assert all(isinstance(answer[key], int) for key in ("totalResults", "startIndex", "itemsPerPage"))
    assert okta.json("GET", "/Users?startIndex=1&count=2")["totalResults"] == 1


def test_assignment_looks_up_then_creates(okta: Replay, auditor: Auditor) -> None:
    """REF "Determine if the User already exists" (``%20``-encoded) and LEGACY (``+``-encoded), then "Create
    the User": 201 with the id Okta keeps; the placeholder password is never stored or returned."""
    for query in (
        "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        "/Users?filter=userName+eq+%22test.user%40okta.local%22&startIndex=1&count=100",
    ):
        assert okta.json("GET", query)["totalResults"] == 0

    created = create_user(okta, locale="en_US")

    stored = auditor.user(created["id"])
    assert (stored["userName"], stored["externalId"], stored["locale"]) == (
        "test.user@okta.local",
        "00ujl29u0le5T6Aj10h7",
        "en_US",
    )
    assert "password" not in stored and "password" not in created
    found = okta.json("GET", "/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22&startIndex=1&count=100")
    assert [user["id"] for user in found["Resources"]] == [created["id"]]


def test_the_spec_test_answers(okta: Replay, replay: Callable[..., Replay]) -> None:
    """SPEC steps 3, 4, 8, 11 and 12: an unknown user by filter is 200 with ``totalResults`` 0; by id it is
    404 with the Error schema and a ``detail``; a duplicate is 409; a bad token is 401 with ``status``."""
    create_user(okta)
    assert okta.json("GET", '/Users?filter=userName eq "abcdefgh@atko.com"')["totalResults"] == 0
    missing = okta.send("GET", "/Users/010101001010101011001010101011", status=404).get_json()
    assert missing["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and missing["detail"]
    assert okta.send("POST", "/Users", {"schemas": [USER], "userName": "test.user@okta.local"}).status_code == 409
    stranger = replay("stranger", HEADERS)
    stranger.token = "non-token"
    unauthorised = stranger.send("GET", "/Users?startIndex=1&count=1", status=401).get_json()
    assert unauthorised["status"] == "401" and unauthorised["detail"]


def test_profile_update_reads_then_puts(okta: Replay, auditor: Auditor) -> None:
    """REF "Update the User": both kinds of integration update the profile with GET then PUT, single-valued
    attributes and multi-valued ones alike (a secondary email is the template's ``emails.^[primary==false]``)."""
    user = create_user(okta)
    emails = [
        {"primary": True, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"},
        {"primary": False, "value": "tu@home.example", "type": "home"},
    ]

    update(okta, user["id"], {"name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"}})
    update(okta, user["id"], {"emails": emails})

    stored = auditor.user(user["id"])
    assert stored["name"] == {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
    assert [(e["value"], e["primary"]) for e in stored["emails"]] == [
        ("test.user@okta.local", True),
        ("tu@home.example", False),
    ]
    assert stored["externalId"] == "00ujl29u0le5T6Aj10h7" and stored["active"] is True


def test_deactivate_suspends_and_activate_reactivates(okta: Replay, auditor: Auditor) -> None:
    """REF "Delete Users" and "Update a specific User (PATCH)": unassigning a user or deactivating it in Okta
    sends ``active=false``; Okta never sends DELETE (FAQ). A bare ``active=false`` follows ``defaultMode``
    (shipped: suspend), which leaves the user's credentials as they are."""
    user = create_user(okta)
    card = auditor.card(user["id"])

    set_active(okta, user["id"], False)
    assert auditor.lifecycle(user["id"]) == (False, "suspended", None)
    assert auditor.card_states(card) == ("active", "valid")

    set_active(okta, user["id"], True)
    assert auditor.lifecycle(user["id"]) == (True, "active", None)
    assert auditor.actions(user["id"]) == [("suspend", "okta"), ("reactivate", "okta")]


def test_a_reason_in_the_lifecycle_namespace_deactivates(okta: Replay, auditor: Auditor) -> None:
    """An app-profile attribute with external namespace ``urn:scim-server:schemas:extension:lifecycle:2.0:User``
    and external name ``reason`` (README, "Okta") rides along in the extension object of the request."""
    user = create_user(okta)
    card = auditor.card(user["id"])
    extension = {LIFECYCLE: {"reason": "termination"}}

    if okta.variant == "OIN":
        operation = {"op": "replace", "value": {"active": False, f"{LIFECYCLE}:reason": "termination"}}
        okta.send("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [operation]}, status=200)
    else:
        update(okta, user["id"], {"active": False, **extension})

    assert auditor.lifecycle(user["id"]) == (False, "deactivated", "termination")
    assert auditor.card_states(card) == ("inactive", "onHold")


def test_enterprise_attributes_with_an_okta_manager_id(okta: Replay, auditor: Auditor) -> None:
    """Okta maps the manager as external name ``manager.value`` in the enterprise namespace and sends its
    own ``managerId`` there (Staffbase's Okta guide); no ``$ref``, which the server derives."""
    user = create_user(
        okta,
        schemas=[USER, ENTERPRISE],
        **{ENTERPRISE: {"employeeNumber": "1234", "department": "Engineering", "manager": {"value": "00u1mgr"}}},
    )

    stored = auditor.user(user["id"])[ENTERPRISE]
    assert (stored["department"], stored["manager"]["value"]) == ("Engineering", "00u1mgr")


def test_import_pages_by_one_hundred(okta: Replay, auditor: Auditor) -> None:
    """REF "Retrieve Users": ``count=100``, then ``startIndex`` + 100 while ``totalResults`` is larger."""
    created = {create_user(okta, f"user{n}@okta.local")["id"] for n in range(105)}

    first = okta.json("GET", "/Users?startIndex=1&count=100")
    second = okta.json("GET", "/Users?startIndex=101&count=100")

    assert (first["totalResults"], first["itemsPerPage"], second["itemsPerPage"]) == (105, 100, 5)
    assert {u["id"] for u in first["Resources"] + second["Resources"]} == created


def test_group_push(okta: Replay, auditor: Auditor) -> None:
    """REF "Create a Group", "Update a specific Group name", "Update specific Group membership", "Delete a
    specific Group". OIN: PATCH; the rename carries the group's ``id`` in ``value`` and follows every
    membership change, unchanged; removals are one filter each, with the adds after them (LEGACY shows two
    removals and two adds); a full push replaces ``members``. AIW: PUT of the whole group."""
    alice, bob, carol = (create_user(okta, f"{name}@okta.local") for name in ("alice", "bob", "carol"))
    member = {"value": alice["id"], "display": "alice@okta.local"}
    group = okta.json(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": [member]}, status=201
    )
    path = f"/Groups/{group['id']}"
    assert auditor.members(group["id"]) == {alice["id"]}

    if okta.variant == "OIN":
        membership = {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'},
                {"op": "add", "path": "members", "value": [{"value": u["id"], "display": "x"} for u in (bob, carol)]},
            ],
        }
        okta.send("PATCH", path, membership, status=200)
        rename = {"op": "replace", "value": {"id": group["id"], "displayName": "Test SCIMv2"}}
        version = auditor.group(group["id"])["meta"]["version"]
        okta.send("PATCH", path, {"schemas": [PATCH_OP], "Operations": [rename]}, status=200)
        assert auditor.group(group["id"])["meta"]["version"] == version  # the unchanged rename changes nothing
        assert auditor.members(group["id"]) == {bob["id"], carol["id"]}
        push = {"op": "replace", "path": "members", "value": [{"value": alice["id"], "display": "x"}]}
        okta.send("PATCH", path, {"schemas": [PATCH_OP], "Operations": [push]}, status=200)
        rename["value"]["displayName"] = "Renamed"
        okta.send("PATCH", path, {"schemas": [PATCH_OP], "Operations": [rename]}, status=200)
    else:
        body = {
            "schemas": [GROUP],
            "id": group["id"],
            "displayName": "Renamed",
            "members": [{"value": alice["id"], "display": "alice@okta.local"}],
        }
        okta.send("PUT", path, body, status=200)

    stored = auditor.group(group["id"])
    assert (stored["id"], stored["displayName"]) == (group["id"], "Renamed")
    assert auditor.members(group["id"]) == {alice["id"]}
    okta.send("DELETE", path, status=204)
    assert auditor.gone(path)
