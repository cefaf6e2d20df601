"""How a resource is kept as a document, and read back: what stays out of it, what a response keeps, versions.

The JSON document of a resource holds what the resource holds, but its
identity and meta (columns), its memberships (their own table) and its
write-only values (never stored, see README).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from scim2_models import Path, ResponseParameters
from scim2_server.utils import parametrize

from .index import is_hidden
from .tables import ResourceRow

VERSION_TAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


ROW = (
    ResourceRow.pk,
    ResourceRow.id,
    ResourceRow.created,
    ResourceRow.last_modified,
    ResourceRow.version,
    ResourceRow.data,
)
"""What ``_assemble`` reads of a resource row."""


def timestamp(moment: datetime.datetime) -> str:
    """A dateTime as pydantic dumps it (ISO 8601, ``Z`` for UTC), so that a document reads as a dump would."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def version_tag(version: int) -> str:
    """The weak ETag of a version (RFC 7644 §3.14)."""
    return f'W/"{version}"'


def parse_version(tag: str | None) -> int | None:
    match = VERSION_TAG.match(tag or "")
    return int(match.group(1)) if match else None


@lru_cache(maxsize=1024)
def kept(model: type[Any], attribute: str, attributes: tuple[str, ...], excluded: tuple[str, ...]) -> bool:
    """Whether a response with these attributes/excludedAttributes returns an attribute (cached: few shapes recur)."""
    parameters = parametrize(ResponseParameters, model).model_validate(
        {"attributes": list(attributes) or None, "excludedAttributes": list(excluded) or None}
    )
    paths = parametrize(Path, model).iter_paths(
        include_subattributes=False,
        attributes=parameters.attributes,
        excluded_attributes=parameters.excluded_attributes,
    )
    return any(path.attr.split(".")[0].lower() == attribute.lower() for path in paths)


def excluded_fields(model: type[Any], relations: Iterable[str]) -> dict[str, Any]:
    """Fields kept out of a stored document, as pydantic's ``exclude`` argument."""
    excluded: dict[str, Any] = {"id": True, "meta": True}
    for name in relations:
        excluded[name] = True
    for path in parametrize(Path, model).iter_paths(include_subattributes=False):
        binding = path.resolve()
        if binding is None or not is_hidden(binding):
            continue
        if binding.model is model or not hasattr(model, binding.model.__name__):
            excluded[binding.field_name] = True
        else:
            excluded.setdefault(binding.model.__name__, {})[binding.field_name] = True
    return excluded
