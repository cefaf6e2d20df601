"""Responses rendered from stored documents, without building a model per resource.

Reading a resource through its scim2-models model costs a validation of the
stored JSON, a deep copy to publish it, and a dump: about a millisecond per
resource, which makes a page of 100 users cost a tenth of a second. The
stored document is already the resource as scim2-models dumped it (no
``None``, no empty values), so a read only needs what the dump of a response
adds: the attributes the request returns (``attributes``,
``excludedAttributes`` and each attribute's ``returned``), ``meta.location``,
references to other resources as URLs, and ``schemas`` naming the extensions
the response carries.

What is returned is decided by scim2-models itself: a projection is compiled
once per model and request shape from the model's own field annotations,
attribute URNs and its ``_is_returned`` rule (the function its response
serializer calls), so a projection means what the library's dump means.
``tests/protocol/test_rendering.py`` holds every rendering to the library's
output for the same resources and parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from scim2_models import ComplexAttribute, Extension, Reference, Resource, Returned
from scim2_models.base import _is_returned


@dataclass(frozen=True)
class Node:
    """How one level of a document is rendered."""

    fields: Mapping[str, Field]
    """The keys a response keeps at this level, each with how its value is rendered."""
    complete: bool
    """Every field of the model is kept here and below: a document is copied, then only ``special`` is done."""
    special: tuple[tuple[str, Field], ...] = field(default=())
    """The keys whose values change on the way out: references, and sub-levels that are not ``complete``."""


@dataclass(frozen=True)
class Field:
    node: Node | None = None
    """The projection of its sub-attributes, for a complex value."""
    reference: bool = False
    """Whether its value is a reference to another resource, published as a URL."""

    @property
    def special(self) -> bool:
        return self.reference or (self.node is not None and (not self.node.complete or bool(self.node.special)))


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


def _compile(model: type[Any], included: list[str], excluded: list[str], parent: str | None = None) -> Node:
    fields: dict[str, Field] = {}
    aliases = {name: alias for alias, name in model.__scim_info__.alias_to_field.items()}
    complete = True
    for field_name in model.model_fields:
        key = aliases.get(field_name, field_name)
        urn = _urn(model, field_name, parent)
        returned = _returned(model, field_name)
        if key != "schemas" and not _is_returned(returned, urn, included, excluded):
            # Never-returned values are never stored (see storage/documents.py): leaving them out drops nothing.
            complete = complete and returned == Returned.never
            continue
        root = model.get_field_root_type(field_name)
        if isinstance(root, type) and issubclass(root, Extension):
            fields[key] = Field(_compile(root, included, excluded))
        elif isinstance(root, type) and issubclass(root, ComplexAttribute):
            fields[key] = Field(_compile(root, included, excluded, urn))
        else:
            fields[key] = Field(reference=_is_resource_reference(model, field_name))
        node = fields[key].node
        complete = complete and (node is None or node.complete)
    special = tuple((key, f) for key, f in fields.items() if f.special)
    return Node(fields, complete, special)


@lru_cache(maxsize=512)
def projection(model: type[Resource[Any]], included: tuple[str, ...], excluded: tuple[str, ...]) -> Node:
    """What a response of ``model`` keeps, for these ``attributes`` and ``excludedAttributes``."""
    return _compile(model, list(included), list(excluded))


def _value(field: Field, value: Any, locate: Callable[[str], str]) -> Any:
    if field.node is not None:
        if isinstance(value, list):
            return [rendered for item in value if (rendered := render(field.node, item, locate))]
        if isinstance(value, Mapping):
            return render(field.node, value, locate)
        return value
    if field.reference and isinstance(value, str):
        return locate(value)
    return value


def render(node: Node, data: Mapping[str, Any], locate: Callable[[str], str]) -> dict[str, Any]:
    """The part of ``data`` a projection keeps, with references located and empty values dropped."""
    if node.complete:
        out = dict(data)
        for key, field_ in node.special:
            if key in out:
                value = _value(field_, out[key], locate)
                if value == [] or value == {}:
                    del out[key]
                else:
                    out[key] = value
        return out
    out = {}
    for key, value in data.items():
        kept = node.fields.get(key)
        if kept is None or value is None:
            continue
        value = _value(kept, value, locate)
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
