"""The User resource type of RFC 7643 §4.1, served at ``/Users``."""

from __future__ import annotations

from scim2_models import User

from scim_server.registry import Registry


def register(registry: Registry) -> None:
    registry.add_resource("User", "/Users", User, "User accounts (RFC 7643 §4.1)", principal=True)
