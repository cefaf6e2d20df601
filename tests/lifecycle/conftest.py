"""Lifecycle fixtures: credentials with certificates, the ways a client says active=false, apps under other policies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from tests.conftest import BULK, CREDENTIAL, LIFECYCLE, PATCH_OP, ScimClient, ok


def lifecycle(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get(LIFECYCLE, {})


def role_set(resource: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["value"], r["type"]) for r in resource.get("roles", [])}


_serials = iter(range(1_000_000))


def issue(
    client: ScimClient,
    user: dict[str, Any],
    type_: str = "card",
    state: str = "active",
    certificates: Sequence[str] = ("valid",),
    serial: str | None = None,
) -> dict[str, Any]:
    """A credential of a user, through the API, with certificates in the given states."""
    number = next(_serials)
    body = {
        "schemas": [CREDENTIAL],
        "type": type_,
        "state": state,
        "user": {"value": user["id"]},
        "serialNumber": serial or f"SN-{number}",
        "certificates": [
            {"serialNumber": serial or f"C{number}-{index}", "issuer": "CN=Issuing CA", "state": cert_state}
            for index, cert_state in enumerate(certificates)
        ],
    }
    return ok(client.post("/Credentials", body), 201)


@pytest.fixture
def make_credential(client: ScimClient) -> Callable[..., dict[str, Any]]:
    return lambda user, *args, **kwargs: issue(client, user, *args, **kwargs)


def bulk_turn_off(client: ScimClient, requests: Sequence[tuple[str, str]]) -> list[int]:
    """One /Bulk PATCH per (user id, reason) saying active=false; the status of each operation."""
    operations = [
        {
            "method": "PATCH",
            "path": f"/Users/{user_id}",
            "data": {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "value": {"active": False, f"{LIFECYCLE}:reason": reason}}],
            },
        }
        for user_id, reason in requests
    ]
    result = ok(client.post("/Bulk", {"schemas": [BULK], "Operations": operations}))
    return [int(operation["status"]) for operation in result["Operations"]]


def credential(client: ScimClient, created: dict[str, Any]) -> dict[str, Any]:
    return ok(client.get(f"/Credentials/{created['id']}"))


def events(client: ScimClient, user: dict[str, Any], action: str | None = None) -> list[dict[str, Any]]:
    scim_filter = f'user.value eq "{user["id"]}"' + (f' and action eq "{action}"' if action else "")
    body = ok(client.search("/LifecycleEvents", filter=scim_filter, sortBy="occurred", count=100))
    return body.get("Resources", [])


def _patch_with_path(client: ScimClient, user: dict[str, Any], active: bool, reason: str | None) -> Any:
    operations: list[dict[str, Any]] = [{"op": "replace", "path": "active", "value": active}]
    if reason:
        operations.append({"op": "replace", "path": f"{LIFECYCLE}:reason", "value": reason})
    return client.patch(f"/Users/{user['id']}", operations)


def _patch_without_path(client: ScimClient, user: dict[str, Any], active: bool, reason: str | None) -> Any:
    value: dict[str, Any] = {"active": active}
    if reason:
        value[f"{LIFECYCLE}:reason"] = reason
    return client.patch(f"/Users/{user['id']}", [{"op": "replace", "value": value}])


def _entra(client: ScimClient, user: dict[str, Any], active: bool, reason: str | None) -> Any:
    """Microsoft Entra ID: capitalised op, the boolean as a string, one operation per attribute."""
    operations: list[dict[str, Any]] = [{"op": "Replace", "path": "active", "value": "True" if active else "False"}]
    if reason:
        operations.insert(0, {"op": "Replace", "path": f"{LIFECYCLE}:reason", "value": reason})
    return client.patch(f"/Users/{user['id']}", operations)


def _put(client: ScimClient, user: dict[str, Any], active: bool, reason: str | None) -> Any:
    current = ok(client.get(f"/Users/{user['id']}"))
    body = {k: v for k, v in current.items() if k not in ("id", "meta")}
    body["active"] = active
    if reason:
        body[LIFECYCLE] = {**body.get(LIFECYCLE, {}), "reason": reason}
    return client.put(f"/Users/{user['id']}", body)


def _bulk(client: ScimClient, user: dict[str, Any], active: bool, reason: str | None) -> Any:
    value: dict[str, Any] = {"active": active}
    if reason:
        value[f"{LIFECYCLE}:reason"] = reason
    operation = {
        "method": "PATCH",
        "path": f"/Users/{user['id']}",
        "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": value}]},
    }
    response = client.post("/Bulk", {"schemas": [BULK], "Operations": [operation]})
    result = ok(response)["Operations"][0]
    assert int(result["status"]) == 200, result
    return response


WAYS: dict[str, Callable[[ScimClient, dict[str, Any], bool, str | None], Any]] = {
    "PATCH with path": _patch_with_path,
    "PATCH without path": _patch_without_path,
    "Entra Replace 'False'": _entra,
    "PUT": _put,
    "Bulk": _bulk,
}
"""Every way a client can say active=false (and active=true); each must behave the same."""


def switch(
    client: ScimClient, user: dict[str, Any], active: bool, reason: str | None = None, way: str = "PATCH with path"
) -> dict[str, Any]:
    response = WAYS[way](client, user, active, reason)
    assert response.status_code == 200, response.get_data(as_text=True)
    return ok(client.get(f"/Users/{user['id']}"))
