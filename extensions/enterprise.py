"""The enterprise user extension of RFC 7643 §4.3.

Role mappings read its attributes (``department`` above all), so every one of
them is indexed by the storage like the core attributes.
"""

from __future__ import annotations

from scim2_models import EnterpriseUser

from scim_server.registry import Registry


def register(registry: Registry) -> None:
    registry.add_extension("User", EnterpriseUser)
