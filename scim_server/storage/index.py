"""From a resource to the rows of ``scim_value`` that filters and sorting read.

Every value is stored in the form ``AttributeBinding.comparable`` gives it —
the form scim2-models' own filter evaluator compares in — so that the SQL a
filter compiles to selects exactly what ``ScimFilter.match`` would keep.
Strings become ``key`` (case-folded unless ``caseExact``), dateTimes become a
fixed-width UTC ``key`` that sorts chronologically, binaries their base64,
booleans and numbers become ``num``.

Which attributes exist, with their URNs, comes from the models through
``Path.iter_paths``; nothing here is written per attribute.
"""

from __future__ import annotations

import base64
import datetime
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from inspect import isclass
from typing import Any

from pydantic import BaseModel
from scim2_models import AttributeBinding, Mutability, Path, Resource, Uniqueness
from scim2_models.path import attribute_host
from scim2_server.utils import parametrize

from .catalogue import Catalogue

NUMERIC_TYPES = (bool, int, float, Decimal)

SKIPPED_FIELDS = frozenset({"id", "meta", "schemas"})
"""Read from columns of ``scim_resource`` (or not filterable), never indexed."""


def is_numeric(binding: AttributeBinding) -> bool:
    target = binding.target_type
    return isclass(target) and issubclass(target, NUMERIC_TYPES)


def is_complex(binding: AttributeBinding) -> bool:
    target = binding.target_type
    return isclass(target) and issubclass(target, BaseModel)


def is_hidden(binding: AttributeBinding) -> bool:
    """Write-only attributes (``password``) are neither stored nor indexed; see README."""
    return Mutability.write_only in (
        binding.model.get_field_annotation(binding.field_name, Mutability),
        binding.get_annotation(Mutability),
    )


def timestamp_key(value: datetime.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode(binding: AttributeBinding, value: Any) -> tuple[str | None, float | None] | None:
    """The (key, num) a value is stored and compared as; None for a string the policy cannot compare."""
    if isinstance(value, bool):
        return None, 1.0 if value else 0.0
    if isinstance(value, int | float | Decimal):
        return None, float(value)
    if isinstance(value, datetime.datetime):
        return timestamp_key(value), None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii"), None
    try:
        return binding.comparable(str(value) if not isinstance(value, str) else value), None
    except ValueError:
        return None


@dataclass(frozen=True)
class Leaf:
    """An attribute holding scalars: ``userName``, ``name.givenName``, ``emails.value``."""

    id: int
    binding: AttributeBinding
    unique: bool

    @property
    def numeric(self) -> bool:
        return is_numeric(self.binding)


@dataclass(frozen=True)
class Head:
    """A top-level attribute of a resource or one of its extensions."""

    binding: AttributeBinding
    leaf: Leaf | None = None
    """The attribute itself, when it is simple."""
    subs: tuple[tuple[str, Leaf], ...] = ()
    """(field name, leaf) of each sub-attribute, when it is complex."""
    marker: int | None = None
    """Attribute id of the per-entry rows of a multi-valued complex attribute."""


@dataclass
class IndexPlan:
    """How the resources of one model are indexed, and the attribute ids the filters use."""

    heads: list[Head] = field(default_factory=list)
    leaves: dict[str, Leaf] = field(default_factory=dict)
    """By attribute URN."""
    markers: dict[str, int] = field(default_factory=dict)
    """Entry-marker ids by the URN of the multi-valued complex attribute."""

    def leaf(self, binding: AttributeBinding) -> Leaf | None:
        return self.leaves.get(binding.urn)

    def leaves_under(self, binding: AttributeBinding) -> list[Leaf]:
        """The leaves of an attribute, or of each of its sub-attributes when it is complex."""
        if binding.sub_field_name is not None or not is_complex(binding):
            leaf = self.leaf(binding)
            return [leaf] if leaf else []
        prefix = binding.urn + "."
        return [leaf for urn, leaf in self.leaves.items() if urn.startswith(prefix)]

    def rows(self, resource: Resource[Any], resource_pk: int) -> Iterator[dict[str, Any]]:
        """The ``scim_value`` rows of a resource."""

        def row(leaf: Leaf, entry: int, value: Any) -> dict[str, Any] | None:
            encoded = encode(leaf.binding, value)
            if encoded is None:
                return None
            key, num = encoded
            return {
                "resource_pk": resource_pk,
                "attribute_id": leaf.id,
                "entry": entry,
                "key": key,
                "num": num,
                "uniq": leaf.unique,
            }

        for head in self.heads:
            host = attribute_host(resource, head.binding)
            value = getattr(host, head.binding.field_name, None) if host is not None else None
            if value is None:
                continue
            items = [item for item in value if item is not None] if isinstance(value, list) else [value]
            for entry, item in enumerate(items):
                if head.leaf is not None:
                    if (r := row(head.leaf, entry, item)) is not None:
                        yield r
                    continue
                if head.marker is not None:
                    yield {
                        "resource_pk": resource_pk,
                        "attribute_id": head.marker,
                        "entry": entry,
                        "key": None,
                        "num": None,
                        "uniq": False,
                    }
                for name, leaf in head.subs:
                    sub = getattr(item, name, None)
                    if sub is not None and (r := row(leaf, entry, sub)) is not None:
                        yield r


class Indexer:
    """Builds one IndexPlan per model, once, registering its URNs in the catalogue."""

    def __init__(self, catalogue: Catalogue, skipped: dict[str, frozenset[str]] | None = None) -> None:
        self.catalogue = catalogue
        self.skipped = skipped or {}
        """Field names kept out of the documents and the index, by schema (relations)."""
        self._plans: dict[type[Any], IndexPlan] = {}
        self._lock = threading.Lock()

    def plan(self, model: type[Resource[Any]]) -> IndexPlan:
        plan = self._plans.get(model)
        if plan is None:
            with self._lock:
                plan = self._plans.get(model) or self._build(model)
                self._plans[model] = plan
        return plan

    def _bindings(self, model: type[Resource[Any]]) -> list[AttributeBinding]:
        skipped = self.skipped.get(str(model.__schema__), frozenset())
        bindings = []
        for path in parametrize(Path, model).iter_paths():
            binding = path.resolve()
            if binding is None or binding.field_name in SKIPPED_FIELDS or binding.field_name in skipped:
                continue
            if is_hidden(binding):
                continue
            bindings.append(binding)
        return bindings

    def _build(self, model: type[Resource[Any]]) -> IndexPlan:
        bindings = self._bindings(model)
        ids = self.catalogue.ids({b.urn for b in bindings})
        plan = IndexPlan()

        def leaf(binding: AttributeBinding) -> Leaf:
            unique = binding.get_annotation(Uniqueness) in (Uniqueness.server, Uniqueness.global_)
            made = Leaf(ids[binding.urn], binding, unique)
            plan.leaves[binding.urn] = made
            return made

        heads = [b for b in bindings if b.sub_field_name is None]
        for head in heads:
            if not is_complex(head):
                plan.heads.append(Head(head, leaf=leaf(head)))
                continue
            subs = tuple(
                (str(b.sub_field_name), leaf(b))
                for b in bindings
                if b.sub_field_name is not None and b.urn.startswith(head.urn + ".")
            )
            marker = ids[head.urn] if head.is_multivalued else None
            if marker is not None:
                plan.markers[head.urn] = marker
            plan.heads.append(Head(head, subs=subs, marker=marker))
        return plan
