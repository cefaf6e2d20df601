"""JumpCloud's custom SCIM Identity Management integration (SCIM 2.0).

Sources, cited by the tests:
- JC: JumpCloud support, "Provision and manage users and groups in apps using a custom SCIM Identity
  Management integration": Test Connection creates a test user and group and deletes them; the Directory
  Insights events (lookup, create, update, deprovision = "change an existing user to inactive", delete).
- JC-GROUPS: JumpCloud connector articles, "Group Management Considerations": empty groups are not
  created, groups may be renamed, managed groups deleted in JumpCloud are deleted in the app.
- CAPTURES: ShiftControl-io/scim-v2-rust, src/test_data/provider_samples/jumpcloud_create_user.json,
  jumpcloud_put_user_full.json and jumpcloud_put_user_minimal.json ("sanitized real responses from SCIM
  providers"): users are created with POST and updated with PUT of the whole user.
- Bitwarden, "JumpCloud SCIM Integration": ``active`` is ``!suspended && !passwordExpired``; groups carry
  ``displayName`` and ``members``.
- uni-moni, "SSO setup: JumpCloud": member changes are ``value: [{value: id}]`` on ``members``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.clients.conftest import Auditor, Replay
from tests.conftest import ENTERPRISE, GROUP, PATCH_OP, USER

HEADERS = {"Content-Type": "application/scim+json", "Accept": "application/scim+json"}


@pytest.fixture
def jumpcloud(replay: Callable[..., Replay]) -> Replay:
    return replay("jumpcloud", HEADERS)


def create_user(jumpcloud: Replay, user_name: str = "testuser@example.io") -> dict[str, Any]:
    """CAPTURES, jumpcloud_create_user.json, verbatim but for the name: the enterprise URN listed without an
    enterprise object, a ``tel:`` phone number, ``externalId`` the JumpCloud id."""
    body = {
        "active": True,
        "addresses": [
            {
                "country": "US",
                "locality": "locality",
                "postalCode": "80027",
                "primary": True,
                "region": "region",
                "streetAddress": "street-address",
                "type": "work",
            }
        ],
        "displayName": "displayname",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "externalId": "66e2d689590450d073d2df3b",
        "locale": "en-US",
        "name": {"familyName": "lastname", "givenName": "firstname"},
        "phoneNumbers": [{"primary": True, "type": "work", "value": "tel:+1-555-555-5555"}],
        "preferredLanguage": "en-US",
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
    }
    created: dict[str, Any] = jumpcloud.json("POST", "/Users", body, status=201)
    return created


def full(user_id: str, **overrides: Any) -> dict[str, Any]:
    """CAPTURES, jumpcloud_put_user_full.json: the whole user with its ``id``, empty lists for attributes
    JumpCloud holds no value of, schemas in another order."""
    body = {
        "active": True,
        "addresses": [],
        "displayName": "John Doe",
        "emails": [{"primary": True, "type": "work", "value": "john.doe@example.io"}],
        "externalId": "664447f5c0c418f2d05e5318",
        "id": user_id,
        "locale": "en-US",
        "name": {"familyName": "Doe", "givenName": "John"},
        "phoneNumbers": [],
        "photos": [{"value": "https://img.example.com/2a27d237-db8c-4f82-84fb-5824dfaedc87.png"}],
        "preferredLanguage": "en-US",
        "schemas": [ENTERPRISE, USER],
        "title": "Captain",
        ENTERPRISE: {"department": "C-Suite"},
        "userName": "john.doe@example.com",
    }
    body.update(overrides)
    return body


def test_test_connection_creates_and_deletes_a_test_user_and_group(jumpcloud: Replay, auditor: Auditor) -> None:
    """JC: "A test user and test group are created … Both will be deleted if the DELETE method is supported"."""
    assert jumpcloud.json("GET", '/Users?filter=userName eq "testuser@example.io"')["totalResults"] == 0
    user = create_user(jumpcloud)
    group = jumpcloud.json(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "jc-test", "members": [{"value": user["id"]}]},
        status=201,
    )

    jumpcloud.send("DELETE", f"/Groups/{group['id']}", status=204)
    jumpcloud.send("DELETE", f"/Users/{user['id']}", status=204)

    assert auditor.gone(f"/Groups/{group['id']}") and auditor.gone(f"/Users/{user['id']}")


def test_create_as_captured(jumpcloud: Replay, auditor: Auditor) -> None:
    user = create_user(jumpcloud)

    stored = auditor.user(user["id"])
    assert stored["phoneNumbers"] == [{"value": "tel:+1-555-555-5555", "type": "work", "primary": True}]
    assert stored["addresses"][0]["postalCode"] == "80027"
    assert (stored["externalId"], stored["preferredLanguage"]) == ("66e2d689590450d073d2df3b", "en-US")
    assert ENTERPRISE not in stored  # listed in schemas, no attribute sent


def test_updates_put_the_whole_user(jumpcloud: Replay, auditor: Auditor) -> None:
    """CAPTURES, jumpcloud_put_user_full.json then jumpcloud_put_user_minimal.json (``"emails": null``):
    what the PUT leaves out or sends empty is unassigned."""
    user = create_user(jumpcloud)

    jumpcloud.json("PUT", f"/Users/{user['id']}", full(user["id"]))
    stored = auditor.user(user["id"])
    assert (stored["title"], stored[ENTERPRISE]["department"]) == ("Captain", "C-Suite")
    assert "addresses" not in stored and "phoneNumbers" not in stored
    assert stored["photos"][0]["value"].endswith(".png")

    minimal = {
        "active": True,
        "emails": None,
        "id": user["id"],
        "name": {"familyName": "lastname", "givenName": "firstname"},
        "schemas": [USER],
        "userName": "testuser@example.io",
    }
    jumpcloud.json("PUT", f"/Users/{user['id']}", minimal)
    stored = auditor.user(user["id"])
    assert "emails" not in stored and "title" not in stored and ENTERPRISE not in stored
    assert stored["userName"] == "testuser@example.io"


def test_suspension_deprovisions_and_returns(jumpcloud: Replay, auditor: Auditor) -> None:
    """JC's ``user_deprovision`` event: "change an existing user to inactive" — a suspended user, or one
    whose group lost the app; JumpCloud sends the whole user with ``active`` false (Bitwarden), and true
    when it comes back. ``defaultMode`` (shipped: suspend) decides; credentials stay as they are."""
    user = create_user(jumpcloud)
    card = auditor.card(user["id"])

    jumpcloud.json("PUT", f"/Users/{user['id']}", full(user["id"], active=False))
    assert auditor.lifecycle(user["id"]) == (False, "suspended", None)
    assert auditor.card_states(card) == ("active", "valid")

    jumpcloud.json("PUT", f"/Users/{user['id']}", full(user["id"], active=True))
    assert auditor.lifecycle(user["id"]) == (True, "active", None)
    assert auditor.actions(user["id"]) == [("suspend", "jumpcloud"), ("reactivate", "jumpcloud")]


def test_groups(jumpcloud: Replay, auditor: Auditor) -> None:
    """JC-GROUPS: groups are created with their members (empty ones are not), renamed, their members added
    and removed by id in ``value`` (uni-moni), replaced whole, and deleted with the group in JumpCloud."""
    alice, bob, carol = (create_user(jumpcloud, f"{name}@example.io") for name in ("alice", "bob", "carol"))
    assert jumpcloud.json("GET", '/Groups?filter=displayName eq "Engineering"')["totalResults"] == 0
    group = jumpcloud.json(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": alice["id"]}]},
        status=201,
    )
    path = f"/Groups/{group['id']}"

    def patch(*operations: dict[str, Any]) -> None:
        jumpcloud.send("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)}, status=200)

    patch({"op": "replace", "path": "displayName", "value": "Platform"})
    patch({"op": "add", "path": "members", "value": [{"value": bob["id"]}, {"value": carol["id"]}]})
    patch({"op": "remove", "path": "members", "value": [{"value": alice["id"]}]})
    assert auditor.members(group["id"]) == {bob["id"], carol["id"]}

    patch({"op": "replace", "path": "members", "value": [{"value": alice["id"]}]})
    assert auditor.members(group["id"]) == {alice["id"]}
    body = {"schemas": [GROUP], "id": group["id"], "displayName": "Platform", "members": [{"value": carol["id"]}]}
    jumpcloud.json("PUT", path, body)

    assert (auditor.group(group["id"])["displayName"], auditor.members(group["id"])) == ("Platform", {carol["id"]})
    jumpcloud.send("DELETE", path, status=204)
    assert auditor.gone(path)


def test_import_pages(jumpcloud: Replay) -> None:
    """JumpCloud can import the app's users; it pages with ``startIndex`` and ``count``."""
    ids = {create_user(jumpcloud, f"user{n}@example.io")["id"] for n in range(7)}

    pages = [jumpcloud.json("GET", f"/Users?startIndex={start}&count=3") for start in (1, 4, 7)]

    assert [len(page["Resources"]) for page in pages] == [3, 3, 1]
    assert {user["id"] for page in pages for user in page["Resources"]} == ids
