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
no-op, and a different request while one is pending is a conflict. A manual
suspension, with a reason, of an account the server suspended (a termination
left it without roles) changes no state but makes the suspension manual.
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
    if (
        target is None
        and request.reason
        and (standing.state, mode, standing.cause) == (SUSPENDED, "suspend", AUTOMATIC)
    ):
        # An operator suspending an account the server suspended makes the suspension theirs:
        # a reversal of the termination will then not reactivate it (source 004).
        return Decision(replace(standing, cause=cause, reason=request.reason, changed=now), action="suspend")
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


# -- HR: terminations, reversals, rehires, autoprovisioning (source 004) -------------------------

AUTO = "auto"


def _with_auto(
    roles: tuple[Role, ...], qualified: set[str], *, only_changes: set[str] | None = None
) -> tuple[Role, ...]:
    """Roles with the ``auto`` ones reconciled against the mappings the user qualifies for.

    With ``only_changes``, only the mappings whose result changed are acted on
    (a mover gains and loses exactly what the change implies; an ``auto`` role
    a client removed by name is not granted back by an unrelated write).
    """
    held = {r.value for r in roles if r.type == AUTO}
    scope = held | qualified if only_changes is None else only_changes
    kept = tuple(r for r in roles if r.type != AUTO or r.value not in scope or r.value in qualified)
    gained = tuple(Role(value, AUTO) for value in sorted(qualified & scope) if value not in held)
    return kept + gained


def autoprovision(standing: Standing, qualified: set[str], *, changed: set[str] | None = None) -> Decision:
    """Grant the ``auto`` roles the mappings give and withdraw the ones they no longer give; never a state change.

    A deactivated account holds no roles (source 000), so it is left alone.
    """
    if standing.state == DEACTIVATED:
        return Decision(standing)
    roles = _with_auto(standing.roles, qualified, only_changes=changed)
    if {r.key for r in roles} == {r.key for r in standing.roles}:
        return Decision(standing)
    return Decision(replace(standing, roles=roles), action="autoprovision")


def terminate(
    standing: Standing, qualified: set[str], *, others_active: bool, policy: Policy, now: datetime.datetime
) -> Decision:
    """A relationship's termination takes effect (source 004, "Automatic Suspension of User Accounts")."""
    roles = _with_auto(standing.roles, qualified) if standing.state != DEACTIVATED else standing.roles
    if not others_active:
        roles = tuple(r for r in roles if r.type == AUTO)
    after = replace(standing, roles=roles)
    if standing.state == ACTIVE and not roles and policy.user_account_maintenance:
        # An automatic suspension is a suspension: the policy's suspension table applies to credentials.
        after = replace(after, state=SUSPENDED, cause=AUTOMATIC, reason=None, changed=now)
        return Decision(after, action="terminate", cascade="suspend")
    return Decision(after, action="terminate")


def reverse_termination(
    standing: Standing,
    lost: tuple[Role, ...],
    gained: tuple[Role, ...],
    suspended_by_it: bool,
    qualified: set[str],
    *,
    now: datetime.datetime,
) -> Decision:
    """Undo what a termination did automatically, then autoprovision (source 004, "Automatic Reactivation").

    Roles lost at the termination come back and roles it gave go; the account
    is reactivated only if the termination suspended it and nothing since
    suspended it by hand. Roles someone removed by hand are not in the
    termination's record, so they do not come back.
    """
    if standing.state == DEACTIVATED:  # deactivated since: no roles come back until it is reactivated
        return Decision(standing, action="reverseTermination")
    held = {r.key for r in standing.roles}
    taken_back = {r.key for r in gained}
    roles = tuple(r for r in standing.roles if r.key not in taken_back) + tuple(r for r in lost if r.key not in held)
    after = replace(standing, roles=roles)
    cascade = None
    if suspended_by_it and standing.state == SUSPENDED and standing.cause == AUTOMATIC:
        after = replace(after, state=ACTIVE, cause=AUTOMATIC, reason=None, changed=now)
        cascade = "reverse"
    roles = _with_auto(after.roles, qualified)
    return Decision(replace(after, roles=roles), action="reverseTermination", cascade=cascade)


def rehire(standing: Standing, qualified: set[str], policy: Policy, *, now: datetime.datetime) -> Decision:
    """A new relationship after every earlier one ended: reactivated, default and mapped roles, nothing restored."""
    roles = _with_auto(standing.roles, qualified)
    roles = roles + tuple(r for r in defaults(policy.default_roles) if r.key not in {x.key for x in roles})
    after = replace(standing, roles=roles, pending=None)
    cascade = None
    if standing.state != ACTIVE:
        after = replace(after, state=ACTIVE, cause=AUTOMATIC, reason=None, changed=now)
        cascade = "reverse"
    return Decision(after, action="rehire", cascade=cascade)
