"""Request shapes real clients send that scim2-models refuses, rewritten before validation.

Everything the library can tolerate by itself is switched on through
``ScimPolicy`` in ``service.py`` instead (Entra's ``Remove`` with a value,
filters that create the entry they describe, op names in any case, booleans
as strings). A shim here must have one unambiguous reading; a shape that can
be read two ways is left for validation to refuse with a 400.

Each shim names the client that sends the shape and where it is documented.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scim2_models import Context

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MANAGER_PATH = f"{ENTERPRISE}:manager".lower()

Shim = Callable[[dict[str, Any], "Endpoints"], None]
Endpoints = Callable[[str], str]
"""The endpoint of a resource type by name (``User`` → ``Users``), for the references a shim completes."""


def _manager_reference(value: Any, endpoint_of: Endpoints) -> Any:
    """A manager given by its id alone gets the rest of its reference.

    1. A plain string becomes ``{"value": id}``. Client: Microsoft Entra ID.
       Source: Microsoft Learn, "Tutorial: Develop and plan provisioning for a
       SCIM endpoint", request "Update User [Single-valued attribute]", where
       Entra PATCHes ``manager`` with ``"value": "<id>"``. The string can only
       be the id, which is what RFC 7643 §4.3 ``manager.value`` holds.
    2. ``{"value": id}`` without ``$ref`` gets ``$ref`` pointing at that user.
       Clients: Entra ID, Okta and OneLogin send the id only (Okta's SCIM 2.0
       test suite, "enterprise extension"); scim2-models requires ``$ref`` as
       RFC 7643 §8.7.1 lists it, and the id determines it.
    """
    if isinstance(value, str):
        value = {"value": value} if value else None
    if isinstance(value, dict) and value.get("value") and not any(k.lower() == "$ref" for k in value):
        value = {**value, "$ref": f"{endpoint_of('User')}/{value['value']}"}
    return value


def _shim_resource(payload: dict[str, Any], endpoint_of: Endpoints) -> None:
    """Shims that apply to a resource body (POST, PUT, a bulk operation's data)."""
    for key, extension in list(payload.items()):
        if key.lower() == ENTERPRISE.lower() and isinstance(extension, dict):
            for name in list(extension):
                if name.lower() == "manager":
                    extension[name] = _manager_reference(extension[name], endpoint_of)
        elif key.lower() == MANAGER_PATH:
            payload[key] = _manager_reference(extension, endpoint_of)


def _shim_patch(payload: dict[str, Any], endpoint_of: Endpoints) -> None:
    """Shims that apply to the operations of a PATCH body."""
    operations = next((v for k, v in payload.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list):
        return
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        path = operation.get("path")
        value = operation.get("value")
        if isinstance(path, str) and path.strip().lower() == MANAGER_PATH:
            operation["value"] = _manager_reference(value, endpoint_of)
        elif path is None and isinstance(value, dict):
            _shim_resource(value, endpoint_of)


def _shim_bulk(payload: dict[str, Any], endpoint_of: Endpoints) -> None:
    operations = next((v for k, v in payload.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list):
        return
    for operation in operations:
        data = operation.get("data") if isinstance(operation, dict) else None
        if not isinstance(data, dict):
            continue
        if str(operation.get("method", "")).upper() == "PATCH":
            _shim_patch(data, endpoint_of)
        else:
            _shim_resource(data, endpoint_of)


SHIMS: dict[Context, Shim] = {
    Context.RESOURCE_CREATION_REQUEST: _shim_resource,
    Context.RESOURCE_REPLACEMENT_REQUEST: _shim_resource,
    Context.RESOURCE_PATCH_REQUEST: _shim_patch,
    Context.BULK_REQUEST: _shim_bulk,
}
"""The shims to run on a decoded request body, by the context it is validated in."""


def apply(payload: Any, context: Context, endpoint_of: Endpoints) -> Any:
    shim = SHIMS.get(context)
    if shim is not None and isinstance(payload, dict):
        shim(payload, endpoint_of)
    return payload
