"""The lifecycle extension of User: ``urn:scim-server:schemas:extension:lifecycle:2.0:User``.

``state`` is the truth about an account and core ``active`` is derived from
it: true exactly when ``state`` is ``active``. Everything the server decides
(state, cause, when, a pending approval) is read-only to clients; what a
client or an HR system says (the reason of its request, a security lock,
work relationships) is theirs to write.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from pydantic import Field
from scim2_models import URN, CaseExact, ComplexAttribute, Extension, Mutability, Required

from scim_server.canonical import canonical

SCHEMA = "urn:scim-server:schemas:extension:lifecycle:2.0:User"

ReadOnly = Mutability.read_only

State = Literal["active", "suspended", "deactivated"]
Cause = Literal["manual", "automatic"]
RelationshipType = Literal["employee", "contingentWorker", "nonWorker"]
RelationshipStatus = Literal["active", "terminated"]
RoleLossTiming = Literal["onTerminationDate", "dayAfterTermination"]


class PendingApproval(ComplexAttribute):
    """A requested transition waiting for a second principal (source 000, "Add an approval step")."""

    action: Annotated[str | None, ReadOnly, CaseExact.true] = None
    reason: Annotated[str | None, ReadOnly, CaseExact.true] = None
    requested_by: Annotated[str | None, ReadOnly, CaseExact.true] = None
    requested: Annotated[datetime.datetime | None, ReadOnly] = None
    approval_id: Annotated[str | None, ReadOnly, CaseExact.true] = None


class WorkRelationship(ComplexAttribute):
    """An employment (or other) relationship as the HR system knows it (source 004)."""

    value: Annotated[str | None, Required.true, CaseExact.true] = None
    """The HR id of the relationship, unique within the user."""

    type: RelationshipType | None = canonical(RelationshipType)
    legal_employer: str | None = None
    start_date: datetime.datetime | None = None
    termination_date: datetime.datetime | None = None
    """May lie in the future; the termination takes effect then."""

    role_loss_timing: RoleLossTiming | None = canonical(RoleLossTiming)
    status: Annotated[RelationshipStatus | None, ReadOnly] = canonical(RelationshipStatus)
    """Derived from the dates and the clock."""


class LifecycleUser(Extension):
    __schema__ = URN(SCHEMA)

    state: Annotated[State | None, ReadOnly] = canonical(State)
    """``active``, ``suspended`` (roles and credentials untouched) or ``deactivated`` (roles withdrawn,
    credentials moved to the policy's end states)."""

    state_cause: Annotated[Cause | None, ReadOnly] = canonical(Cause)
    """``manual`` when a client or an operator asked, ``automatic`` when the server's rules did it."""

    reason: Annotated[str | None, CaseExact.true] = Field(
        default=None,
        examples=["parentalLeave", "leaveOfAbsence", "temporaryDeactivation", "securityReview", "termination"],
    )
    """One of the policy's reason codes (the shipped ones are advertised as canonicalValues). With
    ``active=false`` it decides between deactivation and suspension; a client may also set it ahead of
    that request. A reactivation clears it; each transition's reason stays in its event."""

    state_changed: Annotated[datetime.datetime | None, ReadOnly] = None
    locked: bool | None = None
    """A security lock: blocks sign-in without touching roles, state or credentials."""

    pending_approval: Annotated[PendingApproval | None, ReadOnly] = None
    work_relationships: list[WorkRelationship] | None = None
