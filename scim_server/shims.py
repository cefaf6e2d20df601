"""Request shapes real clients send that scim2-models refuses, rewritten before validation.

Everything the library can tolerate by itself is switched on through
``ScimPolicy`` in ``service.py`` instead (Entra's ``Remove`` with a value,
filters that create the entry they describe, op names in any case, booleans
as strings). A shim here must have one unambiguous reading; a shape that can
be read two ways is left for validation to refuse with a 400. No shim drops
a value a client sent.

Each shim names the client that sends the shape and where it is documented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scim2_models import Context

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MANAGER_PATH = f"{ENTERPRISE}:manager".lower()


@dataclass(frozen=True)
class Server:
    """What a shim may ask of the server."""

    endpoint_of: Callable[[str], str]
    """The endpoint of a resource type by name (``User`` → ``Users``), for the references a shim completes."""
    model_at: Callable[[str], Any]
    """The resource model behind a request path (``/Users/…``), or None."""


def _manager_reference(value: Any, server: Server) -> Any:
    """A manager given by its id alone gets the rest of its reference.

    1. A plain string becomes ``{"value": id}``. Client: Microsoft Entra ID.
       Source: Microsoft Learn, "Tutorial: Develop and plan provisioning for a
       SCIM endpoint", request "Update User [Single-valued attribute]", where
       Entra PATCHes ``manager`` with ``"value": "<id>"``; captured in
       Captain-P-Goldfish/SCIM-SDK#541 and #686. The string can only be the
       id, which is what RFC 7643 §4.3 ``manager.value`` holds. An empty
       string is Entra's way of clearing it (Microsoft's SCIM validator,
       AzureAD/SCIMReferenceCode, "Compose_Manager_Remove_Patch_Body").
    2. ``{"value": id}`` without ``$ref`` gets ``$ref`` pointing at that user.
       Clients: Entra ID, Okta and OneLogin send the id only (Okta's SCIM 2.0
       test suite, "enterprise extension"); scim2-models requires ``$ref`` as
       RFC 7643 §8.7.1 lists it, and the id determines it.
    """
    if isinstance(value, str):
        value = {"value": value} if value else None
    if isinstance(value, dict) and value.get("value") and not any(k.lower() == "$ref" for k in value):
        value = {**value, "$ref": f"{server.endpoint_of('User')}/{value['value']}"}
    return value


def _single_values_in_lists(payload: dict[str, Any], model: Any) -> None:
    """A multi-valued attribute given as one object is a list of that one object.

    Client: OneLogin. Its "SCIM JSON Template" examples (developers.onelogin.com,
    "Define user schema") give ``"emails": {"value": …, "type": "work",
    "primary": true}``, and admins copy them; django-scim2 handles it ("OneLogin
    sends a dict despite the spec", 15five/django-scim2 adapters). RFC 7643
    §2.4 makes ``emails`` an array, and an object cannot mean anything but its
    one entry.
    """
    fields = {name.lower(): name for name in model.model_fields}
    aliases = {(field.serialization_alias or name).lower(): name for name, field in model.model_fields.items()}
    for key, value in list(payload.items()):
        name = aliases.get(key.lower()) or fields.get(key.lower())
        if name is not None and isinstance(value, dict) and model.get_field_multiplicity(name):
            payload[key] = [value]


def _known_schemas(model: Any) -> set[str]:
    extensions = model.get_extension_models() if hasattr(model, "get_extension_models") else {}
    return {str(model.__schema__).lower(), *(urn.lower() for urn in extensions)}


def _schemas_without_attributes(payload: dict[str, Any], model: Any) -> None:
    """A schema URN the server does not know, listed in ``schemas`` with no attribute under it, is dropped.

    Client: Microsoft Entra ID creates groups with
    ``"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]``
    and no attribute of the second (Microsoft Learn, "Tutorial: Develop and plan
    provisioning for a SCIM endpoint", request "Create Group"). ``schemas``
    names the namespaces of the attributes present (RFC 7643 §3); a namespace
    with none present adds nothing to store. An unknown URN that does carry
    attributes is still refused.
    """
    schemas = payload.get("schemas")
    if not isinstance(schemas, list):
        return
    keys = {key.lower() for key in payload}
    known = _known_schemas(model)
    kept = [urn for urn in schemas if not isinstance(urn, str) or urn.lower() in known or urn.lower() in keys]
    if len(kept) != len(schemas):
        payload["schemas"] = kept


def _shim_resource(payload: dict[str, Any], model: Any, server: Server, *, partial: bool = False) -> None:
    """Shims that apply to a resource body (POST, PUT, a bulk operation's data), or a part of one (a
    path-less PATCH value, which has no ``schemas`` of its own)."""
    if model is not None:
        _single_values_in_lists(payload, model)
        if not partial:
            _schemas_without_attributes(payload, model)
    for key, extension in list(payload.items()):
        if key.lower() == ENTERPRISE.lower() and isinstance(extension, dict):
            for name in list(extension):
                if name.lower() == "manager":
                    extension[name] = _manager_reference(extension[name], server)
        elif key.lower() == MANAGER_PATH:
            payload[key] = _manager_reference(extension, server)


def _shim_patch(payload: dict[str, Any], model: Any, server: Server) -> None:
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
            operation["value"] = _manager_reference(value, server)
        elif path is None and isinstance(value, dict):
            _shim_resource(value, model, server, partial=True)


def _shim_bulk(payload: dict[str, Any], model: Any, server: Server) -> None:
    operations = next((v for k, v in payload.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list):
        return
    for operation in operations:
        data = operation.get("data") if isinstance(operation, dict) else None
        if not isinstance(data, dict):
            continue
        target = server.model_at(str(operation.get("path", "")))
        if str(operation.get("method", "")).upper() == "PATCH":
            _shim_patch(data, target, server)
        else:
            _shim_resource(data, target, server)


def _patched_model(model: Any) -> Any:
    """The resource model a ``PatchOp[Model]`` is parametrised with."""
    metadata = getattr(model, "__pydantic_generic_metadata__", None) or {}
    arguments = metadata.get("args") or ()
    return arguments[0] if arguments else None


SHIMS: dict[Context, Callable[[dict[str, Any], Any, Server], None]] = {
    Context.RESOURCE_CREATION_REQUEST: _shim_resource,
    Context.RESOURCE_REPLACEMENT_REQUEST: _shim_resource,
    Context.RESOURCE_PATCH_REQUEST: lambda payload, model, server: _shim_patch(payload, _patched_model(model), server),
    Context.BULK_REQUEST: _shim_bulk,
}
"""The shims to run on a decoded request body, by the context it is validated in."""


def apply(payload: Any, context: Context, model: Any, server: Server) -> Any:
    """Rewrite a decoded body for ``model`` (the class it is about to be validated as)."""
    shim = SHIMS.get(context)
    if shim is not None and isinstance(payload, dict):
        shim(payload, model, server)
    return payload
