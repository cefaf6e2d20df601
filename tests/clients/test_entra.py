"""Microsoft Entra ID (Azure AD) user provisioning, without and with the ``aadOptscim062020`` flag.

Sources, cited by the tests:
- TUT: Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra
  ID" (MicrosoftDocs/entra-docs, docs/identity/app-provisioning/use-scim-to-provision-users-and-groups.md),
  section "SCIM protocol requests and responses".
- COMPAT: Microsoft Learn, "Known issues and resolutions with SCIM 2.0 protocol compliance of the
  Microsoft Entra user provisioning service" (application-provisioning-config-problem-scim-compatibility.md),
  section "Flags to alter the SCIM behavior": each request without and with the flag.
- VAL: Microsoft's SCIM validator, AzureAD/SCIMReferenceCode,
  Microsoft.SCIM.LogicAppValidationTemplate/StandardLogicApp/SCIMTests_Workflow.json.
- Captures of Entra traffic in public issues: MicrosoftDocs/azure-docs#94189 (test connection, no
  ``Accept`` header), Captain-P-Goldfish/SCIM-SDK#167, #541, #686 (member removal, manager).

Entra sends ``application/scim+json; charset=utf-8`` and no ``Accept`` header (azure-docs#94189). With
the flag, the flag is part of the tenant URL, so it rides on every request; the server ignores it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.clients.conftest import Auditor, Replay
from tests.conftest import ENTERPRISE, GROUP, LIFECYCLE, PATCH_OP, USER

ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
HEADERS = {"Content-Type": "application/scim+json; charset=utf-8"}


@pytest.fixture(params=["legacy", "aadOptscim062020"])
def entra(request: pytest.FixtureRequest, replay: Callable[..., Replay]) -> Replay:
    """Entra as configured: the tenant URL with or without the flag."""
    return replay("entra-id", HEADERS, flag="" if request.param == "legacy" else request.param)


def compliant(entra: Replay) -> bool:
    return bool(entra.flag)


def op(entra: Replay, name: str) -> str:
    """``Add``/``Replace``/``Remove`` without the flag, lower case with it (TUT "General"; COMPAT)."""
    return name.lower() if compliant(entra) else name


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def create_user(entra: Replay, user_name: str = "Test_User_00aa00aa@testuser.com") -> dict[str, Any]:
    """TUT "Create User", verbatim but for the names: note ``"roles": []`` and ``meta`` in the request."""
    body = {
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb11bb@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    }
    created: dict[str, Any] = entra.json("POST", "/Users", body, status=201)
    return created


def test_test_connection_queries_a_random_user(entra: Replay) -> None:
    """TUT "Integrate your SCIM endpoint": Test Connection asks for a user that does not exist by a random
    GUID and expects 200 with an empty ListResponse; captured form-encoded in azure-docs#94189 and
    SCIMReferenceCode#63. TUT "Group Operations": groups are looked up by displayName without members."""
    guid = uuid.uuid4()
    for query in (
        f"/Users?filter=userName+eq+%22{guid}%22",
        f"/Users?filter=externalId+eq+%22{guid}%22",
        f"/Groups?excludedAttributes=members&filter=displayName+eq+%22{guid}%22",
    ):
        answer = entra.json("GET", query)
        assert answer["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        assert (answer["totalResults"], answer["Resources"]) == (0, [])


def test_create_then_find_by_each_matching_attribute(entra: Replay, auditor: Auditor) -> None:
    """TUT "Create User", "Get User by query"; Entra matches on userName, or on externalId when the admin
    maps objectId there (OctopusDeploy/Issues#9841 captures ``externalId eq "<guid>"``)."""
    created = create_user(entra)

    stored = auditor.user(created["id"])
    assert stored["userName"] == "Test_User_00aa00aa@testuser.com"
    assert stored["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert stored["name"]["givenName"] == "givenName"
    assert stored["emails"] == [{"value": "Test_User_11bb11bb@testuser.com", "type": "work", "primary": True}]
    for query in (
        "/Users?filter=userName+eq+%22test_user_00aa00aa%40testuser.com%22",
        "/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22",
    ):
        assert [user["id"] for user in entra.json("GET", query)["Resources"]] == [created["id"]]
    assert entra.send("POST", "/Users", {"schemas": [USER], "userName": stored["userName"]}).status_code == 409


def test_create_with_the_default_attribute_mappings(entra: Replay, auditor: Auditor) -> None:
    """TUT "Design your user and group schema": the default Entra → SCIM mappings, each multi-valued entry
    with its type, the enterprise attributes under their URN."""
    body = {
        "schemas": [USER, ENTERPRISE],
        "externalId": "jdoe",
        "userName": "jdoe@contoso.com",
        "active": True,
        "displayName": "Jane Doe",
        "title": "Engineer",
        "preferredLanguage": "en-US",
        "emails": [{"primary": True, "type": "work", "value": "jdoe@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Jane Doe", "familyName": "Doe", "givenName": "Jane"},
        "addresses": [
            {
                "type": "work",
                "primary": True,
                "streetAddress": "1 Main St",
                "locality": "Redmond",
                "region": "WA",
                "postalCode": "98052",
                "country": "US",
            }
        ],
        "phoneNumbers": [{"type": "work", "value": "+1 425 555 0100"}, {"type": "mobile", "value": "+1 425 555 0101"}],
        ENTERPRISE: {"employeeNumber": "701984", "department": "R&D"},
        "roles": [],
    }
    created = entra.json("POST", "/Users", body, status=201)

    stored = auditor.user(created["id"])
    assert stored[ENTERPRISE] == {"employeeNumber": "701984", "department": "R&D"}
    assert stored["addresses"][0]["locality"] == "Redmond"
    assert {(p["type"], p["value"]) for p in stored["phoneNumbers"]} == {
        ("work", "+1 425 555 0100"),
        ("mobile", "+1 425 555 0101"),
    }


def test_update_single_valued_attributes(entra: Replay, auditor: Auditor) -> None:
    """TUT "Update User [Single-valued properties]" (``Replace`` of userName); COMPAT "Requests made to add
    a single-value string attribute" (``Add``/``add`` of nickName)."""
    user = create_user(entra)

    entra.send(
        "PATCH",
        f"/Users/{user['id']}",
        patch({"op": op(entra, "Replace"), "path": "userName", "value": "5b50642d@testuser.com"}),
        status=200,
    )
    entra.send("PATCH", f"/Users/{user['id']}", patch({"op": op(entra, "Add"), "path": "nickName", "value": "Babs"}))

    stored = auditor.user(user["id"])
    assert (stored["userName"], stored["nickName"]) == ("5b50642d@testuser.com", "Babs")


def test_update_multi_valued_attributes_through_filters(entra: Replay, auditor: Auditor) -> None:
    """TUT "Update User [Multi-valued properties]"; an ``Add`` through a filter that matches no entry
    creates it (captured in Metatavu/keycloak-scim-server#35, discussed in SCIM-SDK#416)."""
    user = create_user(entra)

    entra.send(
        "PATCH",
        f"/Users/{user['id']}",
        patch(
            {"op": op(entra, "Replace"), "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
            {"op": op(entra, "Replace"), "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": op(entra, "Add"), "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 425 555 0101"},
            {"op": op(entra, "Add"), "path": 'addresses[type eq "work"].streetAddress', "value": "2 Main St"},
        ),
        status=200,
    )

    stored = auditor.user(user["id"])
    assert stored["emails"] == [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}]
    assert stored["name"]["familyName"] == "updatedFamilyName"
    assert stored["phoneNumbers"] == [{"value": "+1 425 555 0101", "type": "mobile"}]
    assert stored["addresses"] == [{"streetAddress": "2 Main St", "type": "work"}]


def test_replace_several_attributes(entra: Replay, auditor: Auditor) -> None:
    """COMPAT "Requests to replace multiple attributes": one operation per attribute without the flag; with
    it, filter paths stay operations of their own and the rest is one path-less ``replace`` whose keys are
    attribute paths (``name.givenName``, the enterprise URN) — which a naive server stores as literal keys."""
    user = create_user(entra)
    enterprise_number = f"{ENTERPRISE}:employeeNumber"
    if compliant(entra):
        operations = [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "TestMhvaes@test.microsoft.com"},
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    enterprise_number: "Aklq",
                },
            },
        ]
    else:
        operations = [
            {"op": "Replace", "path": "displayName", "value": "Bjfe"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "TestMhvaes@test.microsoft.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Kkom"},
            {"op": "Replace", "path": "name.familyName", "value": "Unua"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {"op": "Replace", "path": enterprise_number, "value": "Aklq"},
        ]

    entra.send("PATCH", f"/Users/{user['id']}", patch(*operations), status=200)

    stored = auditor.user(user["id"])
    assert stored["displayName"] == "Bjfe"
    assert (stored["name"]["givenName"], stored["name"]["familyName"]) == ("Kkom", "Unua")
    assert stored["emails"][0]["value"] == "TestMhvaes@test.microsoft.com"
    assert stored[ENTERPRISE] == {"employeeNumber": "Aklq"}
    assert "name.givenName" not in stored and enterprise_number not in stored


DISABLE = {
    "legacy": patch({"op": "Replace", "path": "active", "value": "False"}),
    "aadOptscim062020": patch({"op": "replace", "path": "active", "value": False}),
}
"""COMPAT "Requests to disable users": the string ``"False"`` without the flag, a boolean with it."""
ENABLE = {
    "legacy": patch({"op": "Replace", "path": "active", "value": "True"}),
    "aadOptscim062020": patch({"op": "replace", "path": "active", "value": True}),
}
"""The mirror of the disable (no source shows a re-enable body; the mapping expression emits "True")."""


def test_disable_suspends_and_re_enable_reactivates(entra: Replay, auditor: Auditor) -> None:
    """HOW ("How provisioning works", "Deprovisioning"): a disable is ``active=false``. Without a reason it
    follows the policy's ``defaultMode`` (shipped: suspend), which leaves credentials alone. The user stays
    readable and findable, so that Entra can match it and send the re-enable (TUT "Requirements")."""
    user = create_user(entra)
    card = auditor.card(user["id"])
    mode = entra.flag or "legacy"

    entra.send("PATCH", f"/Users/{user['id']}", DISABLE[mode], status=200)

    assert auditor.lifecycle(user["id"]) == (False, "suspended", None)
    assert auditor.card_states(card) == ("active", "valid")
    found = entra.json("GET", "/Users?filter=userName+eq+%22Test_User_00aa00aa%40testuser.com%22")
    assert [u["id"] for u in found["Resources"]] == [user["id"]]

    entra.send("PATCH", f"/Users/{user['id']}", ENABLE[mode], status=200)
    entra.send("PATCH", f"/Users/{user['id']}", ENABLE[mode], status=200)  # Entra re-sends active=true each cycle

    assert auditor.lifecycle(user["id"]) == (True, "active", None)
    assert auditor.actions(user["id"]) == [("suspend", "entra-id"), ("reactivate", "entra-id")]


def test_disable_as_the_tutorial_shows_it(entra: Replay, auditor: Auditor) -> None:
    """TUT "Disable User": ``Replace`` with a boolean, ``Operations`` before ``schemas``."""
    user = create_user(entra)
    body = {"Operations": [{"op": "Replace", "path": "active", "value": False}], "schemas": [PATCH_OP]}

    answer = entra.json("PATCH", f"/Users/{user['id']}", body)

    assert answer["active"] is False
    assert auditor.lifecycle(user["id"])[:2] == (False, "suspended")


def test_a_reason_mapped_to_the_lifecycle_extension_deactivates(entra: Replay, auditor: Auditor) -> None:
    """An attribute mapping whose target is ``urn:scim-server:schemas:extension:lifecycle:2.0:User:reason``
    (README, "Microsoft Entra ID") sends the reason beside the disable: a deactivation reason cascades."""
    user = create_user(entra)
    card = auditor.card(user["id"])
    mode = entra.flag or "legacy"
    reason = {"op": op(entra, "Add"), "path": f"{LIFECYCLE}:reason", "value": "parentalLeave"}

    entra.send("PATCH", f"/Users/{user['id']}", patch(reason, *DISABLE[mode]["Operations"]), status=200)

    assert auditor.lifecycle(user["id"]) == (False, "deactivated", "parentalLeave")
    assert auditor.card_states(card) == ("inactive", "onHold")


def test_hr_dates_mapped_to_a_work_relationship(entra: Replay, auditor: Auditor) -> None:
    """Entra's HR-driven provisioning knows ``employeeHireDate`` and ``employeeLeaveDateTime``; mapped to
    ``…lifecycle:2.0:User:workRelationships[value eq "primary"].startDate`` and ``.terminationDate`` (README),
    Entra writes them through a filter, which creates the relationship the first time."""
    user = create_user(entra)
    relationship = f'{LIFECYCLE}:workRelationships[value eq "primary"]'

    entra.send(
        "PATCH",
        f"/Users/{user['id']}",
        patch(
            {"op": op(entra, "Add"), "path": f"{relationship}.startDate", "value": "2020-03-01T00:00:00Z"},
            {"op": op(entra, "Add"), "path": f"{relationship}.terminationDate", "value": "2026-01-31T00:00:00Z"},
        ),
        status=200,
    )

    stored = auditor.user(user["id"])
    (entry,) = stored[LIFECYCLE]["workRelationships"]
    assert (entry["value"], entry["status"]) == ("primary", "terminated")
    assert auditor.lifecycle(user["id"])[:2] == (False, "suspended")
    assert ("terminate", "entra-id") in auditor.actions(user["id"])


def test_hard_delete(entra: Replay, auditor: Auditor) -> None:
    """TUT "Delete User": ``DELETE`` → 204, sent when the user is deleted for good in Entra (HOW). The
    user's credentials stay on record in the deactivation end states, certificates revoked."""
    user = create_user(entra)
    card = auditor.card(user["id"])

    entra.send("DELETE", f"/Users/{user['id']}", status=204)

    assert auditor.gone(f"/Users/{user['id']}")
    stored = auditor.credential(card["id"])
    assert (stored["state"], stored["certificates"][0]["state"]) == ("inactive", "revoked")
    assert entra.send("DELETE", f"/Users/{user['id']}").status_code == 404


def test_manager_set_changed_and_cleared(entra: Replay, auditor: Auditor) -> None:
    """Entra sends the manager as the manager's id alone (SCIM-SDK#541 without the flag, #686 with it) and
    reads it back as ``manager.value`` (Microsoft Q&A 188003); VAL clears it with ``replace`` and ``""``."""
    user = create_user(entra)
    boss = create_user(entra, "boss@testuser.com")
    other = create_user(entra, "other@testuser.com")
    manager = f"{ENTERPRISE}:manager"

    entra.send("PATCH", f"/Users/{user['id']}", patch({"op": op(entra, "Add"), "path": manager, "value": boss["id"]}))
    assert auditor.user(user["id"])[ENTERPRISE]["manager"]["value"] == boss["id"]

    entra.send("PATCH", f"/Users/{user['id']}", patch({"op": "replace", "path": manager, "value": other["id"]}))
    assert auditor.user(user["id"])[ENTERPRISE]["manager"]["value"] == other["id"]

    entra.send("PATCH", f"/Users/{user['id']}", patch({"op": "replace", "path": manager, "value": ""}), status=200)
    assert "manager" not in auditor.user(user["id"]).get(ENTERPRISE, {})


def test_manager_removal_by_value_filter_is_refused_clearly(entra: Replay, auditor: Auditor, snapshot: Any) -> None:
    """One unverified report (thomaspoignant/scim-patch#453) has Entra removing ``manager[value eq "…"]``.
    ``manager`` is single-valued, so the filter has no reading (RFC 7644 §3.5.2): 400, nothing changed."""
    user = create_user(entra)
    boss = create_user(entra, "boss@testuser.com")
    manager = f"{ENTERPRISE}:manager"
    entra.send("PATCH", f"/Users/{user['id']}", patch({"op": op(entra, "Add"), "path": manager, "value": boss["id"]}))
    before = snapshot()

    answer = entra.send(
        "PATCH", f"/Users/{user['id']}", patch({"op": "remove", "path": f'{manager}[value eq "{boss["id"]}"]'})
    )

    assert answer.status_code == 400 and answer.get_json()["scimType"] == "invalidFilter"
    assert snapshot() == before


def test_groups(entra: Replay, auditor: Auditor) -> None:
    """TUT "Group Operations": create with Entra's ADSCIM schema URN beside the core one, look up by
    displayName without members, rename, add members (``"$ref": null``), remove them — without the flag as
    ``Remove`` on ``members`` with the ids in ``value`` (COMPAT; a spec-literal server empties the group),
    with it as one filter per member — and delete."""
    alice, bob, carol = (create_user(entra, f"{name}@testuser.com") for name in ("alice", "bob", "carol"))
    body = {
        "schemas": [GROUP, ADSCIM_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }
    group = entra.json("POST", "/Groups", body, status=201)
    path = f"/Groups/{group['id']}"

    found = entra.json("GET", "/Groups?excludedAttributes=members&filter=displayName+eq+%22displayName%22")
    assert [g["id"] for g in found["Resources"]] == [group["id"]] and "members" not in found["Resources"][0]
    assert "members" not in entra.json("GET", f"{path}?excludedAttributes=members")

    entra.send("PATCH", path, patch({"op": op(entra, "Replace"), "path": "displayName", "value": "renamed"}))
    members = [{"$ref": None, "value": user["id"]} for user in (alice, bob, carol)]
    entra.send("PATCH", path, patch({"op": op(entra, "Add"), "path": "members", "value": members}))
    assert auditor.members(group["id"]) == {alice["id"], bob["id"], carol["id"]}

    if compliant(entra):
        removal = patch({"op": "remove", "path": f'members[value eq "{alice["id"]}"]'})
    else:
        removal = patch({"op": "Remove", "path": "members", "value": [{"value": alice["id"]}]})
    entra.send("PATCH", path, removal, status=200)

    stored = auditor.group(group["id"])
    assert stored["displayName"] == "renamed" and stored["externalId"] == body["externalId"]
    assert auditor.members(group["id"]) == {bob["id"], carol["id"]}
    entra.send("DELETE", path, status=204)
    assert auditor.gone(path)


def test_paging_through_users(entra: Replay) -> None:
    """VAL's pagination test: ``startIndex=1&count=5``, then ``startIndex`` + the page's length, until
    ``totalResults``; it checks that ``startIndex`` is echoed. Account Discovery pages the same way."""
    ids = {create_user(entra, f"user{n}@testuser.com")["id"] for n in range(12)}
    seen: list[str] = []
    start = 1
    while True:
        page = entra.json("GET", f"/Users?startIndex={start}&count=5")
        assert (page["startIndex"], page["totalResults"]) == (start, 12)
        seen += [user["id"] for user in page["Resources"]]
        start += len(page["Resources"])
        if start > page["totalResults"]:
            break
    assert sorted(seen) == sorted(ids)


def test_schema_discovery(entra: Replay) -> None:
    """TUT "Discover schema": Entra reads ``/Schemas`` when the provisioning configuration is saved."""
    ids = {schema["id"] for schema in entra.json("GET", "/Schemas")["Resources"]}
    assert {USER, ENTERPRISE, LIFECYCLE, GROUP} <= ids
