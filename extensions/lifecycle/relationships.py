"""Work relationships as HR systems send them: when a termination takes effect, and what changed. Pure.

A termination takes effect at its ``terminationDate``, or at 00:00 UTC of the
following day when its ``roleLossTiming`` is ``dayAfterTermination`` (the
policy's ``defaultRoleLossTiming`` when the relationship names none). Between
two writes, a relationship can start being terminated (a termination, now or
in the future), stop being terminated (a reversal: the date removed or moved
into the future), or appear while every other one is terminated (a rehire).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

DAY_AFTER = "dayAfterTermination"


@dataclass(frozen=True)
class Relationship:
    value: str
    start: datetime.datetime | None
    termination: datetime.datetime | None
    timing: str | None
    applied: bool
    """Whether its termination has been applied (its stored ``status`` is ``terminated``)."""


class InvalidRelationships(ValueError):
    """HR data that cannot be right; the message says what (400 invalidValue)."""


def utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(tzinfo=datetime.UTC) if moment.tzinfo is None else moment.astimezone(datetime.UTC)


def effective(relationship: Relationship, default_timing: str) -> datetime.datetime | None:
    """When the relationship's termination takes effect, if it has one."""
    if relationship.termination is None:
        return None
    moment = utc(relationship.termination)
    if (relationship.timing or default_timing) == DAY_AFTER:
        return datetime.datetime.combine(moment.date() + datetime.timedelta(days=1), datetime.time(), datetime.UTC)
    return moment


def is_due(relationship: Relationship, default_timing: str, now: datetime.datetime) -> bool:
    moment = effective(relationship, default_timing)
    return moment is not None and moment <= now


def validate(relationships: Sequence[Relationship]) -> None:
    """Refuse what HR data cannot mean: two relationships with one id, a termination before the start."""
    seen: set[str] = set()
    for relationship in relationships:
        if not relationship.value:
            raise InvalidRelationships("workRelationships: every relationship needs its HR id in 'value'")
        if relationship.value in seen:
            raise InvalidRelationships(f"workRelationships: the id {relationship.value!r} is used twice")
        seen.add(relationship.value)
        if relationship.start and relationship.termination and utc(relationship.termination) < utc(relationship.start):
            raise InvalidRelationships(
                f"workRelationships: {relationship.value!r} terminates ({relationship.termination.isoformat()}) "
                f"before it starts ({relationship.start.isoformat()})"
            )


@dataclass(frozen=True)
class Changes:
    """What a write did to a user's relationships, against the terminations already applied."""

    terminate: tuple[str, ...] = ()
    """Relationships whose termination is due now and not applied yet."""
    reverse: tuple[str, ...] = ()
    """Relationships whose applied termination was removed or moved into the future."""
    rehire: bool = False
    """A new relationship that is not terminated, while every earlier one is."""
    schedule: tuple[tuple[str, datetime.datetime], ...] = ()
    """Relationships whose termination lies in the future: (id, when)."""


def changes(
    before: Sequence[Relationship], after: Sequence[Relationship], default_timing: str, now: datetime.datetime
) -> Changes:
    known = {r.value for r in before}
    terminate, reverse, schedule = [], [], []
    for relationship in after:
        due = is_due(relationship, default_timing, now)
        if relationship.applied and not due:
            reverse.append(relationship.value)
        if not relationship.applied and due:
            terminate.append(relationship.value)
        moment = effective(relationship, default_timing)
        if moment is not None and moment > now:
            schedule.append((relationship.value, moment))
    hired = [r for r in after if r.value not in known and not is_due(r, default_timing, now)]
    rehire = bool(before) and bool(hired) and all(r.applied for r in before)
    return Changes(tuple(terminate), tuple(reverse), rehire, tuple(schedule))


def others_active(relationships: Iterable[Relationship], excluded: Iterable[str]) -> bool:
    """Whether a relationship outside ``excluded`` is still active (not terminated)."""
    skip = set(excluded)
    return any(not r.applied for r in relationships if r.value not in skip)


def read(entries: Iterable[Any] | None) -> list[Relationship]:
    """Relationships from the extension's ``workRelationships`` entries."""
    return [
        Relationship(
            value=entry.value or "",
            start=entry.start_date,
            termination=entry.termination_date,
            timing=entry.role_loss_timing,
            applied=entry.status == "terminated",
        )
        for entry in entries or []
    ]
