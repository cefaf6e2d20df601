"""Responses rendered from stored documents, without building a model per resource.

Reading a resource through its scim2-models model costs a validation of the
stored JSON, a deep copy to publish it, and a dump: about a millisecond per
resource, which makes a page of 100 users cost a tenth of a second. The
stored document is already the resource as scim2-models dumped it, so a read
only needs what the dump of a response adds: the attributes the request
returns (``attributes``, ``excludedAttributes`` and each attribute's
``returned``), ``meta.location``, and references to other resources as URLs.

What is returned is decided by scim2-models itself: a ``Projection`` is
compiled once per model and request shape from the model's own field
annotations, attribute URNs and its ``_is_returned`` rule (the function its
response serializer calls), so a projection means what the library's dump
means. ``tests/protocol/test_rendering.py`` holds every rendering to the
library's output for the same resources and parameters.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scim2_models import ComplexAttribute, Extension, Reference, Resource, Returned
from scim2_models.base import _is_returned

Node = Mapping[str, "Field"]


@dataclass(frozen=True)
class Field:
    """How one key of a document is rendered."""

    node: Node | None = None
    """The projection of its sub-attributes, for a complex value."""
    reference: bool = False
    """Whether its value is a reference to another resource, published as a URL."""


def _returned(model: type[Any], field_name: str) -> Returned | None:
    returned: Returned | None = model.get_field_annotation(field_name, Returned)
    return returned


def _is_resource_reference(model: type[Any], field_name: str) -> bool:
    """References to other resources (not external URIs) are what the library publishes as URLs."""
    root = model.get_field_root_type(field_name)
    origin = getattr(root, "__pydantic_generic_metadata__", {}).get("origin") or root
    if not (isinstance(origin, type) and issubclass(origin, Reference)):
        return False
    kinds = set(getattr(root, "__reference_types__", ()))
    return bool(kinds) and not kinds & {"external", "uri"}


def _urn(model: type[Any], field_name: str, parent: str | None) -> str:
    """The attribute URN the library's serializer judges a field by (RFC 7644 §3.10)."""
    if parent is None:
        return str(model.__scim_info__.attribute_urns[field_name])
    return f"{parent}.{model._scim_name(field_name)}"


def _compile(model: type[Any], included: list[str], excluded: list[str], parent: str | None = None) -> dict[str, Field]:
    node: dict[str, Field] = {}
    aliases = {field: alias for alias, field in model.__scim_info__.alias_to_field.items()}
    for field_name in model.model_fields:
        key = aliases.get(field_name, field_name)
        urn = _urn(model, field_name, parent)
        if key != "schemas" and not _is_returned(_returned(model, field_name), urn, included, excluded):
            continue
        root = model.get_field_root_type(field_name)
        if isinstance(root, type) and issubclass(root, Extension):
            node[key] = Field(_compile(root, included, excluded))
        elif isinstance(root, type) and issubclass(root, ComplexAttribute):
            node[key] = Field(_compile(root, included, excluded, urn))
        else:
            node[key] = Field(reference=_is_resource_reference(model, field_name))
    return node


@lru_cache(maxsize=512)
def projection(model: type[Resource[Any]], included: tuple[str, ...], excluded: tuple[str, ...]) -> Node:
    """What a response of ``model`` keeps, for these ``attributes`` and ``excludedAttributes``."""
    return _compile(model, list(included), list(excluded))


def timestamp(moment: datetime.datetime) -> str:
    """A dateTime as pydantic dumps it: ISO 8601, ``Z`` for UTC."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def render(node: Node, data: Mapping[str, Any], locate: Callable[[str], str]) -> dict[str, Any]:
    """The part of ``data`` a projection keeps, with references located and empty values dropped."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = node.get(key)
        if field is None or value is None:
            continue
        if field.node is not None:
            if isinstance(value, list):
                value = [rendered for item in value if (rendered := render(field.node, item, locate))]
            elif isinstance(value, Mapping):
                value = render(field.node, value, locate)
        elif field.reference and isinstance(value, str):
            value = locate(value)
        elif isinstance(value, datetime.datetime):
            value = timestamp(value)
        if value == [] or value == {}:
            continue
        out[key] = value
    return out


def render_resource(
    model: type[Resource[Any]], node: Node, data: Mapping[str, Any], locate: Callable[[str], str]
) -> dict[str, Any]:
    """``render`` for a whole resource: ``schemas`` lists the model's schema and the extensions the response
    carries (RFC 7643 §3), as the library's resource serializer makes it."""
    out = render(node, data, locate)
    out["schemas"] = [str(model.__schema__), *(urn for urn in model.get_extension_models() if urn in out)]
    return out
