"""The Group resource type of RFC 7643 §4.2, served at ``/Groups``.

Membership is declared as a relation, so the storage keeps it in its own
table: adding one member to a large group is a single row, and ``User.groups``
is read from the same table rather than kept twice.
"""

from __future__ import annotations

from scim2_models import Group

from scim_server.registry import Membership, Registry


def register(registry: Registry) -> None:
    registry.add_resource("Group", "/Groups", Group, "Groups of users and groups (RFC 7643 §4.2)")
    registry.add_membership(
        Membership(owner="Group", attribute="members", member_types=("User", "Group"), reverse=("User", "groups"))
    )
