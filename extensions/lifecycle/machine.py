"""The lifecycle state machine: what a request does to an account. Pure: no Flask, no session.

``decide`` maps the account's standing and a request to a Decision; the
engine applies it inside the request's transaction. The table below is the
whole machine (SPEC §3, sources 000 and 004):

================  =======================  ===========  =================  ==============================
from              request                  to           roles              credentials
================  =======================  ===========  =================  ==============================
active            off, mode deactivate     deactivated  all withdrawn      deactivation table
active            off, mode suspend        suspended    untouched          suspension table (if any)
suspended         off, mode deactivate     deactivated  all withdrawn      deactivation table
suspended         off, mode suspend        (no change)
deactivated       off, any mode            (no change)
suspended         on                       active       untouched          holds released
deactivated       on                       active       default roles only holds released
active            on                       (no change)
================  =======================  ===========  =================  ==============================

When the policy requires approval for the action, the request becomes a
pending approval instead and the standing does not change; repeating it is a
no-op, and a different request while one is pending is a conflict.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

from scim_server.policy import Policy

from .roles import Role, defaults

ACTIVE, SUSPENDED, DEACTIVATED = "active", "suspended", "deactivated"
OFF, ON = "off", "on"
MANUAL, AUTOMATIC = "manual", "automatic"

TRANSITIONS: dict[tuple[str, str], str | None] = {
    (ACTIVE, "deactivate"): DEACTIVATED,
    (ACTIVE, "suspend"): SUSPENDED,
    (SUSPENDED, "deactivate"): DEACTIVATED,
    (SUSPENDED, "suspend"): None,
    (DEACTIVATED, "deactivate"): None,
    (DEACTIVATED, "suspend"): None,
    (SUSPENDED, ON): ACTIVE,
    (DEACTIVATED, ON): ACTIVE,
    (ACTIVE, ON): None,
}
"""(state, requested mode or ``on``) → new state; None means the request changes nothing."""


@dataclass(frozen=True)
class Pending:
    action: str
    reason: str | None
    requested_by: str
    requested: datetime.datetime
    approval_id: str


@dataclass(frozen=True)
class Standing:
    """What the machine needs to know of an account."""

    state: str
    cause: str | None
    reason: str | None
    changed: datetime.datetime | None
    roles: tuple[Role, ...]
    pending: Pending | None = None


@dataclass(frozen=True)
class Request:
    kind: str
    """``off`` (active=false) or ``on`` (active=true)."""

    reason: str | None = None


@dataclass(frozen=True)
class Decision:
    """The standing after a request, and what else must happen."""

    standing: Standing
    action: str | None = None
    """The event to record (``deactivate``, ``suspend``, ``reactivate``, ``approvalRequested``), None for a no-op."""

    cascade: str | None = None
    """``deactivate`` or ``suspend`` (apply that table), ``reverse`` (release holds), or None."""

    conflict: str | None = None
    """Why the request is refused, when it is."""


def decide(
    standing: Standing,
    request: Request,
    policy: Policy,
    *,
    now: datetime.datetime,
    actor: str,
    approval_id: str,
    approved: bool = False,
    cause: str = MANUAL,
) -> Decision:
    """Apply one request to a standing, under a policy."""
    mode = policy.mode_of(request.reason) if request.kind == OFF else ON
    target = TRANSITIONS[(standing.state, mode)]
    if target is None:
        return Decision(standing)

    if standing.pending is not None and not approved:
        pending = standing.pending
        if request.kind == OFF and pending.action == mode and pending.reason == request.reason:
            return Decision(standing)  # a sync client repeating its request
        return Decision(standing, conflict=f"a {pending.action} requested by {pending.requested_by} awaits approval")

    if request.kind == OFF and policy.requires_approval(mode) and not approved:
        pending = Pending(mode, request.reason, actor, now, approval_id)
        return Decision(replace(standing, pending=pending), action="approvalRequested")

    if request.kind == OFF:
        roles = () if target == DEACTIVATED else standing.roles
        after = Standing(target, cause, request.reason, now, roles)
        return Decision(after, action=mode, cascade=mode)

    roles = tuple(defaults(policy.default_roles)) if standing.state == DEACTIVATED else standing.roles
    after = Standing(ACTIVE, cause, None, now, roles)
    return Decision(after, action="reactivate", cascade="reverse")
