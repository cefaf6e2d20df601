"""Role provenance (SPEC §2): default and auto roles are the server's, the rest the client's."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import Role

from tests.conftest import USER, ScimClient, error, ok
from tests.lifecycle.conftest import role_set


@pytest.fixture
def granted(client: ScimClient, make_user: Any, state: Any) -> dict[str, Any]:
    """A user holding a default role, an auto role (written as the role mappings will), and a manual one."""
    user = make_user("bjensen", roles=[{"value": "guide"}])
    storage = state.storage
    with storage.operation():
        stored = storage.get(storage.types["User"], user["id"])
        stored.roles = [*stored.roles, Role(value="finance", type="auto")]
        storage.update(storage.types["User"], stored, hooks=False)
    return ok(client.get(f"/Users/{user['id']}"))


def test_creation_grants_the_default_roles_and_types_client_roles_manual(make_user: Any) -> None:
    user = make_user(roles=[{"value": "guide"}, {"value": "analyst", "type": "requested"}])
    assert role_set(user) == {("guide", "manual"), ("analyst", "requested"), ("user", "default")}


def test_a_client_label_is_kept_as_the_clients(make_user: Any) -> None:
    """Microsoft Entra ID sends app role assignments with type WindowsAzureActiveDirectoryRole."""
    user = make_user(
        roles=[{"value": "Admin", "display": "Admin", "type": "WindowsAzureActiveDirectoryRole", "primary": True}]
    )
    assert ("Admin", "WindowsAzureActiveDirectoryRole") in role_set(user)


@pytest.mark.parametrize(
    "write",
    [
        lambda c, u: c.put(
            f"/Users/{u['id']}", {"schemas": [USER], "userName": "bjensen", "roles": [{"value": "pilot"}]}
        ),
        lambda c, u: c.patch(f"/Users/{u['id']}", [{"op": "replace", "path": "roles", "value": [{"value": "pilot"}]}]),
        lambda c, u: c.patch(f"/Users/{u['id']}", [{"op": "replace", "value": {"roles": [{"value": "pilot"}]}}]),
        lambda c, u: c.patch(
            f"/Users/{u['id']}",
            [{"op": "remove", "path": "roles"}, {"op": "add", "path": "roles", "value": [{"value": "pilot"}]}],
        ),
    ],
    ids=["PUT", "PATCH replace roles", "PATCH replace without path", "PATCH remove all then add"],
)
def test_rewriting_roles_as_a_whole_keeps_the_servers(client: ScimClient, granted: dict[str, Any], write: Any) -> None:
    after = ok(write(client, granted))
    assert role_set(after) == {("pilot", "manual"), ("user", "default"), ("finance", "auto")}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": 'roles[value eq "finance"]'},
        {"op": "remove", "path": 'roles[value eq "finance" and type eq "auto"]'},
        {"op": "Remove", "path": "roles", "value": [{"value": "finance"}]},
    ],
    ids=["value path", "value path with type", "Entra remove with value"],
)
def test_a_server_role_goes_only_when_named(
    client: ScimClient, granted: dict[str, Any], operation: dict[str, Any]
) -> None:
    after = ok(client.patch(f"/Users/{granted['id']}", [operation]))
    assert role_set(after) == {("guide", "manual"), ("user", "default")}


def test_a_client_cannot_grant_a_server_role(client: ScimClient, granted: dict[str, Any], snapshot: Any) -> None:
    before = snapshot()
    for role_type in ("auto", "default"):
        error(
            client.patch(
                f"/Users/{granted['id']}",
                [{"op": "add", "path": "roles", "value": [{"value": "root", "type": role_type}]}],
            ),
            400,
            "invalidValue",
        )
    error(
        client.post("/Users", {"schemas": [USER], "userName": "x", "roles": [{"value": "root", "type": "auto"}]}),
        400,
        "invalidValue",
    )
    assert snapshot() == before


def test_a_client_echoing_server_roles_back_changes_nothing(client: ScimClient, granted: dict[str, Any]) -> None:
    body = {k: v for k, v in granted.items() if k not in ("id", "meta")}
    after = ok(client.put(f"/Users/{granted['id']}", body))
    assert role_set(after) == role_set(granted)
    assert after["meta"]["version"] == granted["meta"]["version"]


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (None, {("guide", "manual"), ("user", "default"), ("finance", "auto")}),
        ([], {("user", "default"), ("finance", "auto")}),
    ],
    ids=["PUT without roles: not asserted, kept", "PUT with empty roles: the client's cleared"],
)
def test_a_put_rewrites_roles_only_when_it_carries_them(
    client: ScimClient, granted: dict[str, Any], roles: list[Any] | None, expected: set[tuple[str, str]]
) -> None:
    """RFC 7644 §3.5.1: omitted attributes "MAY be assumed to be not asserted by the client". Identity
    providers that do not manage roles (OneLogin, JumpCloud) PUT whole profiles without them."""
    body: dict[str, Any] = {"schemas": [USER], "userName": "bjensen", "title": "Pilot"}
    if roles is not None:
        body["roles"] = roles
    after = ok(client.put(f"/Users/{granted['id']}", body))
    assert role_set(after) == expected
    assert after["title"] == "Pilot"
