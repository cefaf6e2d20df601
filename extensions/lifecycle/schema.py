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

from scim2_models import URN, CaseExact, ComplexAttribute, Extension, Mutability, Required

SCHEMA = "urn:scim-server:schemas:extension:lifecycle:2.0:User"

ReadOnly = Mutability.read_only


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

    type: Literal["employee", "contingentWorker", "nonWorker"] | None = None
    legal_employer: str | None = None
    start_date: datetime.datetime | None = None
    termination_date: datetime.datetime | None = None
    """May lie in the future; the termination takes effect then."""

    role_loss_timing: Literal["onTerminationDate", "dayAfterTermination"] | None = None
    status: Annotated[Literal["active", "terminated"] | None, ReadOnly] = None
    """Derived from the dates and the clock."""


class LifecycleUser(Extension):
    __schema__ = URN(SCHEMA)

    state: Annotated[Literal["active", "suspended", "deactivated"] | None, ReadOnly] = None
    """``active``, ``suspended`` (roles and credentials untouched) or ``deactivated`` (roles withdrawn,
    credentials moved to the policy's end states)."""

    state_cause: Annotated[Literal["manual", "automatic"] | None, ReadOnly] = None
    """``manual`` when a client or an operator asked, ``automatic`` when the server's rules did it."""

    reason: Annotated[str | None, CaseExact.true] = None
    """The reason code of the current deactivation or suspension, one of the policy's reasons.
    Written together with ``active=false``, it decides between deactivation and suspension."""

    state_changed: Annotated[datetime.datetime | None, ReadOnly] = None
    locked: bool | None = None
    """A security lock: blocks sign-in without touching roles, state or credentials."""

    pending_approval: Annotated[PendingApproval | None, ReadOnly] = None
    work_relationships: list[WorkRelationship] | None = None
