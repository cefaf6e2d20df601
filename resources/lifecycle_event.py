"""The LifecycleEvent resource type, served read-only at ``/LifecycleEvents``: the audit trail of every transition.

One immutable record per transition — who asked, why, when, and every role,
credential and certificate it changed — so that governance tools can audit
with plain SCIM filters (``user.value eq "…" and occurred gt "…"``), and so
that a reactivation can undo exactly what a deactivation did.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field
from scim2_models import URN, CaseExact, ComplexAttribute, Mutability, Reference, Resource

from scim_server.registry import Registry

if TYPE_CHECKING:
    from scim2_models import User  # the resource type Reference["User"] names

SCHEMA = "urn:scim-server:schemas:2.0:LifecycleEvent"

ReadOnly = Mutability.read_only


class Subject(ComplexAttribute):
    value: Annotated[str | None, ReadOnly, CaseExact.true] = None
    ref: Annotated[Reference["User"] | None, ReadOnly] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    display: Annotated[str | None, ReadOnly] = None


class RoleChange(ComplexAttribute):
    value: Annotated[str | None, ReadOnly] = None
    type: Annotated[str | None, ReadOnly] = None


class CredentialChange(ComplexAttribute):
    value: Annotated[str | None, ReadOnly, CaseExact.true] = None
    """The credential's id."""

    type: Annotated[str | None, ReadOnly] = None
    from_: Annotated[str | None, ReadOnly, CaseExact.true] = Field(
        None, serialization_alias="from", validation_alias="from"
    )
    to: Annotated[str | None, ReadOnly, CaseExact.true] = None


class CertificateChange(ComplexAttribute):
    credential: Annotated[str | None, ReadOnly, CaseExact.true] = None
    """The id of the credential holding the certificate."""

    serial_number: Annotated[str | None, ReadOnly, CaseExact.true] = None
    issuer: Annotated[str | None, ReadOnly, CaseExact.true] = None
    from_: Annotated[str | None, ReadOnly, CaseExact.true] = Field(
        None, serialization_alias="from", validation_alias="from"
    )
    to: Annotated[str | None, ReadOnly, CaseExact.true] = None
    revocation_reason: Annotated[str | None, ReadOnly] = None


class LifecycleEvent(Resource[Any]):
    __schema__ = URN(SCHEMA)

    user: Annotated[Subject | None, ReadOnly] = None
    action: Annotated[str | None, ReadOnly, CaseExact.true] = None
    """``deactivate``, ``suspend``, ``reactivate``, ``lock``, ``unlock``, ``terminate``, ``reverseTermination``,
    ``rehire``, ``autoprovision``, ``approvalRequested``, ``approvalGranted``, ``approvalRejected``,
    ``approvalCancelled`` or ``delete``."""

    reason: Annotated[str | None, ReadOnly, CaseExact.true] = None
    cause: Annotated[str | None, ReadOnly, CaseExact.true] = None
    """``manual`` (a client or operator asked) or ``automatic`` (the server's rules did it)."""

    actor: Annotated[str | None, ReadOnly, CaseExact.true] = None
    """The client (token name) whose request caused the transition."""

    occurred: Annotated[datetime.datetime | None, ReadOnly] = None
    approval_id: Annotated[str | None, ReadOnly, CaseExact.true] = None
    work_relationship: Annotated[str | None, ReadOnly, CaseExact.true] = None
    """The HR id of the relationship a termination, reversal or rehire is about."""

    state_from: Annotated[str | None, ReadOnly, CaseExact.true] = None
    state_to: Annotated[str | None, ReadOnly, CaseExact.true] = None
    """The account's lifecycle state before and after the transition."""
    roles_gained: Annotated[list[RoleChange] | None, ReadOnly] = None
    roles_lost: Annotated[list[RoleChange] | None, ReadOnly] = None
    credentials: Annotated[list[CredentialChange] | None, ReadOnly] = None
    certificates: Annotated[list[CertificateChange] | None, ReadOnly] = None


def register(registry: Registry) -> None:
    registry.add_resource(
        "LifecycleEvent", "/LifecycleEvents", LifecycleEvent, "The audit trail of lifecycle transitions", read_only=True
    )
