"""Closed sets of string values: validated as a ``Literal``, advertised in ``/Schemas`` as ``canonicalValues``.

scim2-models publishes the canonical values of enumerations and of a field's
``examples``, not of a ``Literal``; without them a client (or a checker)
reading the schema cannot know which values the attribute takes.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import Field


def canonical(literal: Any, **field: Any) -> Any:
    """A field default whose ``examples`` are the values of ``literal`` (RFC 7643 §7 canonicalValues)."""
    return Field(default=None, examples=list(get_args(literal)), **field)
