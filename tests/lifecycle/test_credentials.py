"""Credentials: a resource like any other, with the rules that keep them honest."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import CREDENTIAL, ScimClient, error, ok
from tests.lifecycle.conftest import switch


def test_crud(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    user = make_user("bjensen")
    created = make_credential(user, "softToken", certificates=["valid"])
    assert created["state"] == "active"
    assert created["user"] == {
        "value": user["id"],
        "$ref": f"http://localhost/scim/v2/Users/{user['id']}",
        "display": "bjensen",
    }
    assert "stateChanged" not in created["certificates"][0]  # set when the state first changes
    changed = ok(
        client.patch(f"/Credentials/{created['id']}", [{"op": "replace", "path": "displayName", "value": "Token"}])
    )
    assert changed["displayName"] == "Token"
    assert client.delete(f"/Credentials/{created['id']}").status_code == 204


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"type": "floppyDisk"}, "invalidValue"),
        ({"type": "card", "user": {"value": "0" * 32}}, "invalidValue"),
        ({"type": "card", "user": {}}, None),
        ({"user": None}, None),
        ({"type": "card", "state": "broken"}, None),
        ({"type": "card", "state": None}, None),
        ({"type": "card", "certificates": [{"serialNumber": "1", "revocationReason": "boredom"}]}, None),
    ],
)
def test_invalid_credentials_are_refused(
    client: ScimClient, make_user: Any, snapshot: Any, body: dict[str, Any], scim_type: str | None
) -> None:
    user = make_user()
    payload = {"schemas": [CREDENTIAL], "type": "card", "user": {"value": user["id"]}, **body}
    before = snapshot()
    error(client.post("/Credentials", payload), 400, scim_type)
    assert snapshot() == before


def test_a_credential_always_has_a_state(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    held = make_credential(make_user())
    error(client.patch(f"/Credentials/{held['id']}", [{"op": "remove", "path": "state"}]), 400)
    assert ok(client.get(f"/Credentials/{held['id']}"))["state"] == "active"


def test_type_and_holder_are_immutable(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    user, other = make_user(), make_user()
    held = make_credential(user)
    error(
        client.patch(f"/Credentials/{held['id']}", [{"op": "replace", "path": "type", "value": "mobileId"}]),
        400,
        "mutability",
    )
    error(
        client.patch(f"/Credentials/{held['id']}", [{"op": "replace", "path": "user.value", "value": other["id"]}]),
        400,
        "mutability",
    )
    body = {k: v for k, v in held.items() if k not in ("id", "meta")} | {"user": {"value": other["id"]}}
    error(client.put(f"/Credentials/{held['id']}", body), 400, "mutability")
    echoed = {k: v for k, v in held.items() if k not in ("id", "meta")}
    assert ok(client.put(f"/Credentials/{held['id']}", echoed))["user"]["value"] == user["id"]


@pytest.mark.parametrize("back_to", ["valid", "onHold"])
def test_a_revoked_certificate_never_comes_back(
    client: ScimClient, make_user: Any, make_credential: Any, snapshot: Any, back_to: str
) -> None:
    held = make_credential(make_user(), certificates=["revoked", "valid"])
    before = snapshot()
    error(
        client.patch(
            f"/Credentials/{held['id']}",
            [
                {
                    "op": "replace",
                    "path": f'certificates[serialNumber eq "{held["certificates"][0]["serialNumber"]}"].state',
                    "value": back_to,
                }
            ],
        ),
        400,
        "mutability",
    )
    assert snapshot() == before


def test_an_on_hold_certificate_may_become_valid_again(
    client: ScimClient, make_user: Any, make_credential: Any
) -> None:
    held = make_credential(make_user(), certificates=["onHold"])
    serial = held["certificates"][0]["serialNumber"]
    after = ok(
        client.patch(
            f"/Credentials/{held['id']}",
            [{"op": "replace", "path": f'certificates[serialNumber eq "{serial}"].state', "value": "valid"}],
        )
    )
    assert after["certificates"][0]["state"] == "valid"
    assert after["certificates"][0]["stateChanged"] > held["meta"]["created"]


def test_filters_work_on_credentials(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    card = make_credential(alice, "card")
    make_credential(alice, "temporaryCard")
    make_credential(bob, "card")
    switch(client, alice, False, "parentalLeave")

    body = ok(
        client.search("/Credentials", filter=f'user.value eq "{alice["id"]}" and certificates[state eq "onHold"]')
    )

    assert [r["id"] for r in body["Resources"]] == [card["id"]]
    sorted_ = ok(client.search("/Credentials", sortBy="type", sortOrder="descending"))
    assert [r["type"] for r in sorted_["Resources"]] == ["temporaryCard", "card", "card"]


def test_credentials_survive_their_holder(client: ScimClient, make_user: Any, make_credential: Any) -> None:
    user = make_user()
    held = make_credential(user, "card", certificates=["valid", "onHold"])
    client.delete(f"/Users/{user['id']}")
    kept = ok(client.get(f"/Credentials/{held['id']}"))
    assert kept["user"]["value"] == user["id"]
    assert kept["state"] == "inactive"
    assert [(c["state"], c["revocationReason"]) for c in kept["certificates"]] == [
        ("revoked", "affiliationChanged"),
        ("revoked", "affiliationChanged"),
    ]
