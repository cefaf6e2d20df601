"""Writing LifecycleEvents: one immutable record per transition, in the transaction that made it."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from resources.lifecycle_event import LifecycleEvent
from scim_server.storage.sql import WriteContext

from .cascade import Moves
from .roles import Role


@dataclass
class Record:
    """What one event says, beyond the user it is about."""

    action: str
    cause: str
    reason: str | None = None
    gained: Iterable[Role] = ()
    lost: Iterable[Role] = ()
    moves: Moves = field(default_factory=Moves)
    approval: str | None = None
    actor: str | None = None
    relationship: str | None = None
    state_from: str | None = None
    state_to: str | None = None


def write(context: WriteContext, user: Any, record: Record, occurred: datetime.datetime | None = None) -> None:
    storage = context.storage
    moves = record.moves
    event = LifecycleEvent.model_validate(
        {
            "user": {"value": user.id, "$ref": f"{storage.endpoint('User')}/{user.id}", "display": user.user_name},
            "action": record.action,
            "reason": record.reason,
            "cause": record.cause,
            "actor": record.actor or context.actor.client,
            "occurred": occurred or context.now,
            "approvalId": record.approval,
            "workRelationship": record.relationship,
            "stateFrom": record.state_from,
            "stateTo": record.state_to,
            "rolesGained": [{"value": r.value, "type": r.type} for r in record.gained] or None,
            "rolesLost": [{"value": r.value, "type": r.type} for r in record.lost] or None,
            "credentials": [{"value": m.id, "type": m.type, "from": m.from_, "to": m.to} for m in moves.credentials]
            or None,
            "certificates": [
                {
                    "credential": m.credential,
                    "serialNumber": m.serial_number,
                    "issuer": m.issuer,
                    "from": m.from_,
                    "to": m.to,
                    "revocationReason": m.revocation_reason,
                }
                for m in moves.certificates
            ]
            or None,
        }
    )
    storage.create(storage.types["LifecycleEvent"], event, read_back=False)


def find(context: WriteContext, user_id: str, actions: Iterable[str], relationship: str | None = None) -> list[Any]:
    """A user's events of some actions, oldest first."""
    wanted = set(actions)
    return [
        event
        for event in context.storage.find_equal("LifecycleEvent", "user.value", user_id)
        if event.action in wanted and (relationship is None or event.work_relationship == relationship)
    ]
