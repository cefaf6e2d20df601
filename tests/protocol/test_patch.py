"""PATCH over HTTP: the three operations, value paths, path-less values, what real clients send, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ENTERPRISE, ScimClient, error, ok

CASES = [
    # (operations, attribute, expected value)
    ([{"op": "add", "path": "title", "value": "Lead"}], "title", "Lead"),
    ([{"op": "replace", "path": "displayName", "value": "Babs"}], "displayName", "Babs"),
    ([{"op": "remove", "path": "nickName"}], "nickName", None),
    (
        [{"op": "replace", "path": "name.familyName", "value": "Jensen-Smith"}],
        "name",
        {"givenName": "Barbara", "familyName": "Jensen-Smith"},
    ),
    (
        [{"op": "add", "path": "emails", "value": [{"value": "home@example.com", "type": "home"}]}],
        "emails",
        [{"value": "b@example.com", "type": "work", "primary": True}, {"value": "home@example.com", "type": "home"}],
    ),
    (
        [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@example.com"}],
        "emails",
        [{"value": "new@example.com", "type": "work", "primary": True}],
    ),
    ([{"op": "remove", "path": 'emails[type eq "work"]'}], "emails", None),
    ([{"op": "replace", "value": {"title": "Lead", "nickName": "B"}}], "title", "Lead"),
    ([{"op": "add", "path": f"{ENTERPRISE}:department", "value": "Finance"}], ENTERPRISE, {"department": "Finance"}),
    ([{"op": "replace", "value": {f"{ENTERPRISE}:department": "Finance"}}], ENTERPRISE, {"department": "Finance"}),
    # Microsoft Entra ID: capitalised op names, booleans as strings, dotted keys in a path-less value
    ([{"op": "Replace", "path": "active", "value": "False"}], "active", False),
    ([{"op": "Add", "value": {"name.givenName": "Babs"}}], "name", {"givenName": "Babs"}),
    # Entra: writes through a filter that matches no entry create it
    (
        [{"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"}],
        "phoneNumbers",
        [{"value": "+1 555", "type": "mobile"}],
    ),
    # Entra: manager as the manager's id alone
    (
        [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "7f1c"}],
        ENTERPRISE,
        {"manager": {"value": "7f1c", "$ref": "http://localhost/scim/v2/Users/7f1c"}},
    ),
]


@pytest.fixture
def barbara(make_user: Any) -> dict[str, Any]:
    return make_user(
        "bjensen",
        nickName="Barbie",
        name={"givenName": "Barbara"},
        emails=[{"value": "b@example.com", "type": "work", "primary": True}],
    )


@pytest.mark.parametrize(("operations", "attribute", "expected"), CASES)
def test_patch_answers_200_with_the_resource(
    client: ScimClient, barbara: dict[str, Any], operations: list[dict[str, Any]], attribute: str, expected: Any
) -> None:
    response = client.patch(f"/Users/{barbara['id']}", operations)

    body = ok(response)
    assert body.get(attribute) == expected
    assert ok(client.get(f"/Users/{barbara['id']}")) == body
    assert response.headers["ETag"] == body["meta"]["version"] != barbara["meta"]["version"]


def test_patch_that_changes_nothing_keeps_the_version(client: ScimClient, barbara: dict[str, Any]) -> None:
    body = ok(client.patch(f"/Users/{barbara['id']}", [{"op": "replace", "path": "nickName", "value": "Barbie"}]))
    assert body["meta"]["version"] == barbara["meta"]["version"]


@pytest.mark.parametrize(
    ("operations", "scim_type"),
    [
        ([{"op": "replace", "path": 'emails[type co "home"].display', "value": "x"}], "noTarget"),
        ([{"op": "remove"}], "noTarget"),
        ([{"op": "add", "path": "title"}], "invalidValue"),
        ([{"op": "merge", "path": "title", "value": "x"}], "invalidValue"),
        ([{"op": "add", "path": "nosuch", "value": "x"}], "invalidPath"),
        ([{"op": "add", "path": "emails[type eq", "value": "x"}], "invalidPath"),
        ([{"op": "replace", "path": "id", "value": "mine"}], "mutability"),
        ([{"op": "replace", "path": "active", "value": "perhaps"}], "invalidValue"),
        # one bad operation after a good one: nothing is applied
        (
            [{"op": "replace", "path": "title", "value": "Lead"}, {"op": "add", "path": "nosuch", "value": 1}],
            "invalidPath",
        ),
        ([], "invalidValue"),
    ],
)
def test_bad_patches_are_refused_and_change_nothing(
    client: ScimClient, barbara: dict[str, Any], snapshot: Any, operations: list[dict[str, Any]], scim_type: str
) -> None:
    before = snapshot()

    error(client.patch(f"/Users/{barbara['id']}", operations), 400, scim_type)

    assert snapshot() == before


def test_patch_without_schemas_or_operations_is_refused(client: ScimClient, barbara: dict[str, Any]) -> None:
    error(
        client.patch(f"/Users/{barbara['id']}", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
        400,
    )
    error(client.patch(f"/Users/{barbara['id']}", json=[{"op": "add"}]), 400)


def test_patch_to_an_immutable_or_read_only_value_is_refused(
    client: ScimClient, make_user: Any, make_group: Any
) -> None:
    user = make_user()
    group = make_group(members=[user["id"]])
    error(
        client.patch(
            f"/Groups/{group['id']}",
            [{"op": "replace", "path": f'members[value eq "{user["id"]}"].value', "value": "other"}],
        ),
        400,
        "mutability",
    )
    error(
        client.patch(f"/Users/{user['id']}", [{"op": "add", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
        400,
    )
