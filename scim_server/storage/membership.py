"""Membership rows: reading them into resources, and changing them by delta.

Every change is a statement on ``scim_member`` keyed by the owner and the
members named in the request, so its cost does not depend on how many other
members the group has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from scim2_models import AttributeBinding, InvalidValueException
from sqlalchemy import Connection, Select, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased

from ..db import insert_ignoring_duplicates
from ..registry import Membership
from .tables import MemberRow, ResourceRow

CHUNK = 500
"""Ids per IN list: well under SQLite's and PostgreSQL's parameter limits."""


@dataclass(frozen=True)
class Member:
    """A member resolved to its row."""

    pk: int
    id: str
    resource_type: str
    display: str | None = None


_DISPLAY_NAME = ResourceRow.data["displayName"].as_string()
MEMBERS_OF = (
    select(MemberRow.owner_pk, ResourceRow.id, ResourceRow.resource_type, MemberRow.display)
    .join(ResourceRow, ResourceRow.pk == MemberRow.member_pk)
    .where(MemberRow.owner_pk.in_(bindparam("pks", expanding=True)))
    .order_by(MemberRow.owner_pk, MemberRow.member_pk)
)
OWNERS_OF = (
    select(MemberRow.member_pk, ResourceRow.id, ResourceRow.resource_type, _DISPLAY_NAME)
    .join(ResourceRow, ResourceRow.pk == MemberRow.owner_pk)
    .where(MemberRow.member_pk.in_(bindparam("pks", expanding=True)))
    .order_by(MemberRow.member_pk, MemberRow.owner_pk)
)
"""Built once: constructing a statement costs several times what executing a cached one does."""


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Memberships:
    """One declared membership (``Group.members`` / ``User.groups``) over ``scim_member``."""

    def __init__(self, membership: Membership, endpoints: dict[str, str], binding: AttributeBinding) -> None:
        self.membership = membership
        self.endpoints = endpoints
        self.field_name = binding.field_name
        """The owner model's Python field for the attribute (``members``)."""
        self.entry_model = binding.field_type
        """The model of one entry (``GroupMember``)."""

    def _reference(self, resource_type: str, id_: str) -> str:
        return f"{self.endpoints.get(resource_type, resource_type)}/{id_}"

    # -- Reading ----------------------------------------------------------

    def members_of(self, connection: Connection, owner_pks: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """The members of each owner, in a stable order, as the payload of the relation attribute."""
        result: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for chunk in chunks(owner_pks):
            rows = connection.execute(MEMBERS_OF, {"pks": list(chunk)})
            for owner_pk, id_, resource_type, display in rows:
                entry = {"value": id_, "$ref": self._reference(resource_type, id_), "type": resource_type}
                if display is not None:
                    entry["display"] = display
                result[owner_pk].append(entry)
        return result

    def owners_of(self, connection: Connection, member_pks: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """The owners each member belongs to directly (``User.groups``)."""
        result: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for chunk in chunks(member_pks):
            rows = connection.execute(OWNERS_OF, {"pks": list(chunk)})
            for member_pk, id_, resource_type, name in rows:
                entry = {"value": id_, "$ref": self._reference(resource_type, id_), "type": "direct"}
                if name is not None:
                    entry["display"] = name
                result[member_pk].append(entry)
        return result

    def owners_column(self, dialect: str, member_pk: Any) -> Any:
        """The owners of a member row as one JSON array, a column of the statement reading the member.

        ``owners_of`` in the same statement as the resource: one round trip for a User with its
        ``groups``, and one snapshot. Entries are ``{"value", "type", "display"}``; see ``owners_entries``.
        """
        owner = aliased(ResourceRow)
        display = owner.data["displayName"].as_string()
        if dialect == "postgresql":
            entry = func.json_build_object("value", owner.id, "type", owner.resource_type, "display", display)
            aggregate = func.json_agg(aggregate_order_by(entry, MemberRow.owner_pk))
            query = (
                select(aggregate).join(owner, owner.pk == MemberRow.owner_pk).where(MemberRow.member_pk == member_pk)
            )
            return query.scalar_subquery()
        ordered = (
            select(owner.id, owner.resource_type, display.label("display"))
            .join(MemberRow, owner.pk == MemberRow.owner_pk)
            .where(MemberRow.member_pk == member_pk)
            .order_by(MemberRow.owner_pk)
            .correlate(ResourceRow)  # the member row of the enclosing statement
            .subquery()
        )
        entry = func.json_object("value", ordered.c.id, "type", ordered.c.resource_type, "display", ordered.c.display)
        return select(func.json_group_array(entry)).select_from(ordered).scalar_subquery()

    def owners_entries(self, value: Any) -> list[dict[str, Any]]:
        """The ``groups`` entries of an ``owners_column`` value (a JSON text on SQLite, a list on PostgreSQL)."""
        owners = orjson.loads(value) if isinstance(value, str | bytes) else value or []
        entries = []
        for owner in owners:
            entry = {"value": owner["value"], "$ref": self._reference(owner["type"], owner["value"]), "type": "direct"}
            if owner.get("display") is not None:
                entry["display"] = owner["display"]
            entries.append(entry)
        return entries

    # -- Resolving what a client sent ----------------------------------------

    def resolve(
        self, session: Session, owner_pk: int | None, entries: Iterable[Any], *, strict: bool = True
    ) -> list[Member]:
        """Map member entries (value, type, display) to rows, refusing ids that name no User or Group.

        A reference that cannot be read unambiguously — no value, a type that
        is not the referenced resource's — is refused too: guessing would
        store a membership the client did not mean. Without ``strict`` (for
        removals) such entries are skipped: removing a member that is gone,
        as a client catching up on a deletion does, changes nothing.
        """
        wanted: dict[str, Any] = {}
        for entry in entries:
            value = getattr(entry, "value", None)
            if not value:
                raise InvalidValueException(detail="each member needs a value: the id of a User or Group")
            wanted[value] = entry
        found: dict[str, tuple[int, str]] = {}
        ids = list(wanted)
        for chunk in chunks(ids):
            rows = session.connection().execute(
                select(ResourceRow.id, ResourceRow.pk, ResourceRow.resource_type).where(
                    ResourceRow.id.in_(chunk), ResourceRow.resource_type.in_(self.membership.member_types)
                )
            )
            found.update({id_: (pk, resource_type) for id_, pk, resource_type in rows})
        members = []
        for id_, entry in wanted.items():
            if id_ not in found:
                if not strict:
                    continue
                kinds = " or ".join(self.membership.member_types)
                raise InvalidValueException(detail=f"members: no {kinds} has the id {id_!r}")
            pk, resource_type = found[id_]
            declared = getattr(entry, "type", None)
            if declared and str(declared).lower() != resource_type.lower():
                if not strict:
                    continue
                raise InvalidValueException(detail=f"members: {id_!r} is a {resource_type}, not a {declared}")
            if pk == owner_pk:
                raise InvalidValueException(detail="members: a group cannot be a member of itself")
            members.append(Member(pk, id_, resource_type, getattr(entry, "display", None)))
        return members

    # -- Writing ----------------------------------------------------------

    def add(self, session: Session, owner_pk: int, members: Sequence[Member]) -> bool:
        """Add members, keeping the ones already there; True when a row was added."""
        if not members:
            return False
        # RETURNING counts the rows really inserted; executemany rowcounts are not reliable on every driver.
        statement = insert_ignoring_duplicates(session.get_bind(), MemberRow.__table__).returning(MemberRow.member_pk)
        inserted = session.execute(
            statement, [{"owner_pk": owner_pk, "member_pk": m.pk, "display": m.display} for m in members]
        )
        return bool(inserted.all())

    def remove(self, session: Session, owner_pk: int, member_pks: Sequence[int] | None = None) -> bool:
        """Remove the given members, or all of them; True when a row was removed."""
        if member_pks is None:
            result = session.execute(delete(MemberRow).where(MemberRow.owner_pk == owner_pk))
            return bool(result.rowcount)  # type: ignore[attr-defined]
        removed = 0
        for chunk in chunks(list(member_pks)):
            result = session.execute(
                delete(MemberRow).where(MemberRow.owner_pk == owner_pk, MemberRow.member_pk.in_(chunk))
            )
            removed += result.rowcount  # type: ignore[attr-defined]
        return bool(removed)

    def remove_selected(self, session: Session, owner_pk: int, member_pks: Select[Any]) -> bool:
        """Remove the members of one owner that a query selects (a compiled value-path filter)."""
        result = session.execute(
            delete(MemberRow).where(MemberRow.owner_pk == owner_pk, MemberRow.member_pk.in_(member_pks))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def replace(self, session: Session, owner_pk: int, members: Sequence[Member]) -> bool:
        """Make the membership exactly these members, touching only the rows that differ."""
        current = {
            pk: display
            for pk, display in session.connection().execute(
                select(MemberRow.member_pk, MemberRow.display).where(MemberRow.owner_pk == owner_pk)
            )
        }
        wanted = {m.pk: m for m in members}
        stale = [pk for pk in current if pk not in wanted or wanted[pk].display != current[pk]]
        changed = self.remove(session, owner_pk, stale) if stale else False
        fresh = [m for pk, m in wanted.items() if pk not in current or pk in stale]
        return self.add(session, owner_pk, fresh) or changed
