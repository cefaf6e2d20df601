"""Role mappings (source 004's autoprovisioning): which ``auto`` roles a user qualifies for.

Each mapping pairs a role with a SCIM filter, evaluated against the user by
scim2-models' own ``ScimFilter.match`` — the evaluator the storage's SQL is
tested against — so a mapping means in the policy what the same filter means
in a search.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scim2_models import ScimFilter
from scim2_server.utils import parametrize

from scim_server.policy import RoleMapping

_BOUND: dict[tuple[type[Any], str], ScimFilter[Any]] = {}


def _bound(model: type[Any], expression: str) -> ScimFilter[Any]:
    """The mapping's filter bound to the user model, parsed once per process."""
    key = (model, expression)
    if key not in _BOUND:
        _BOUND[key] = parametrize(ScimFilter, model)(expression)
    return _BOUND[key]


def qualified(user: Any, mappings: Sequence[RoleMapping]) -> set[str]:
    """The roles whose mapping filter the user matches."""
    model = type(user)
    return {mapping.role for mapping in mappings if _bound(model, mapping.filter).match(user)}
