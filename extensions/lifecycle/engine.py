"""The lifecycle rules applied inside the transaction of a write.

The storage calls ``user_written`` and ``credential_written`` (write hooks)
for every write of a User or a Credential, whatever carried it: POST, PUT,
PATCH with or without a path, a /Bulk operation. This module reads what the
write asks for off the states before and after — an ``active`` flag, HR
dates, attributes role mappings read — asks the pure machine what each part
means, and applies the decisions in order: the user's state and roles, its
credentials, the approval row, the pending terminations and one event per
transition, all in the write's transaction.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from scim2_models import ConflictException, InvalidValueException, NotFoundException
from scim2_models import Role as RoleModel

from scim_server.storage.sql import WriteContext

from . import cascade as cascades
from . import credentials, due, events, machine
from .approvals import ApprovalRow, record_request
from .cascade import Moves
from .mappings import qualified
from .relationships import InvalidRelationships, changes, others_active, read, validate
from .roles import Role, ServerRoleWritten, defaults, difference, merge, typed, union
from .schema import LifecycleUser, PendingApproval

ACTIVE, MANUAL, AUTOMATIC = machine.ACTIVE, machine.MANUAL, machine.AUTOMATIC
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:user"
OFF_ACTIONS = ("deactivate", "suspend")


def user_written(context: WriteContext, resource_type: str, before: Any, after: Any) -> None:
    lifecycle = Lifecycle(context)
    if after is None:
        lifecycle.deleted(before)
    elif before is None:
        lifecycle.created(after)
    else:
        lifecycle.updated(before, after)


def credential_written(context: WriteContext, resource_type: str, before: Any, after: Any) -> None:
    if after is not None:
        credentials.check(context, before, after)


def extension(user: Any) -> LifecycleUser | None:
    ext: LifecycleUser | None = user[LifecycleUser]
    return ext


def roles_of(user: Any) -> list[Role]:
    return [typed(r.value, r.type, r.display, r.primary) for r in user.roles or [] if r.value]


def standing_of(user: Any) -> machine.Standing:
    ext = extension(user)
    state = ext.state if ext is not None and ext.state else (ACTIVE if user.active is not False else "suspended")
    pending = ext.pending_approval if ext is not None else None
    return machine.Standing(
        state=state,
        cause=ext.state_cause if ext else None,
        reason=ext.reason if ext else None,
        changed=ext.state_changed if ext else None,
        roles=tuple(roles_of(user)),
        pending=machine.Pending(
            pending.action or "",
            pending.reason,
            pending.requested_by or "",
            pending.requested or datetime.datetime.min.replace(tzinfo=datetime.UTC),
            pending.approval_id or "",
        )
        if pending is not None and pending.approval_id
        else None,
    )


@dataclass
class Step:
    decision: machine.Decision
    before: machine.Standing
    moves: Moves = field(default_factory=Moves)
    relationship: str | None = None
    approval: str | None = None
    actor: str | None = None
    cause: str | None = None
    """``manual`` or ``automatic``; by default, automatic for what HR dates and role mappings cause."""

    @property
    def recorded_cause(self) -> str:
        if self.cause is not None:
            return self.cause
        automatic = ("terminate", "reverseTermination", "rehire", "autoprovision")
        return AUTOMATIC if self.decision.action in automatic else MANUAL


class Steps:
    """The transitions one write makes, in order, each from the standing the previous one left."""

    def __init__(self, standing: machine.Standing) -> None:
        self.standing = standing
        self.done: list[Step] = []

    def add(self, step: Step) -> None:
        if step.decision.action is not None:
            self.done.append(step)
        self.standing = step.decision.standing


class Lifecycle:
    def __init__(self, context: WriteContext) -> None:
        self.context = context
        self.storage = context.storage
        self.policy = context.policy
        self.now = context.now

    # -- Writes --------------------------------------------------------------------

    def created(self, user: Any) -> None:
        ext = extension(user) or LifecycleUser()
        user[LifecycleUser] = ext
        self._check_reason(ext.reason, None)
        self._check_relationships(ext)
        try:
            client = merge((), roles_of(user))
        except ServerRoleWritten as error:
            raise InvalidValueException(detail=str(error)) from error
        roles = tuple(union(client, defaults(self.policy.default_roles)))
        steps = Steps(machine.Standing(ACTIVE, MANUAL, ext.reason, self.now, roles))
        if user.active is False:
            self._request(user.id, steps, machine.Request(machine.OFF, ext.reason))
        self._hr(user, ext, steps, earlier=[], before=None)
        self._finish(user, steps, locked=ext.locked)

    def updated(self, before: Any, after: Any) -> None:
        stored = extension(before) or LifecycleUser()
        ext = extension(after)
        if ext is None:  # a client that does not know the extension leaves it as it was
            ext = stored.model_copy(deep=True)
            after[LifecycleUser] = ext
        self._check_reason(ext.reason, stored.reason)
        self._check_relationships(ext)
        standing = standing_of(before)
        # A PUT without `roles` does not assert them (RFC 7644 §3.5.1: omitted attributes "MAY be assumed
        # to be not asserted"): identity providers that do not manage roles PUT whole profiles, and must
        # not strip roles another source granted.
        written = roles_of(after) if self.context.patch is not None or "roles" in after.model_fields_set else None
        try:
            roles = merge(standing.roles, standing.roles if written is None else written, self._named_removals(before))
        except ServerRoleWritten as error:
            raise InvalidValueException(detail=str(error)) from error
        # The reason is the client's attribute: what it writes is kept, and decides what active=false
        # means; each transition's own reason is in its event.
        steps = Steps(replace(standing, roles=tuple(roles), reason=ext.reason))
        request = self._requested(before, after, ext.reason, stored.reason)
        if request is not None:
            self._request(before.id, steps, request)
        self._hr(after, ext, steps, earlier=read(stored.work_relationships), before=before)
        self._finish(after, steps, locked=ext.locked)
        if bool(ext.locked) != bool(stored.locked):
            self._event(after, events.Record("lock" if ext.locked else "unlock", MANUAL))

    def deleted(self, user: Any) -> None:
        held = credentials.held_by(self.context, user.id)
        moves = cascades.cascade(
            [credentials.view(c) for c in held], self.policy.deactivation, revoke_reason="affiliationChanged"
        )
        credentials.move(self.context, held, moves)
        due.forget(self.context.session, user.id)
        self._event(user, events.Record("delete", MANUAL, lost=roles_of(user), moves=moves))

    # -- Manual requests (active=true/false) ----------------------------------------------

    def _request(self, user_id: str, steps: Steps, request: machine.Request, **approval: Any) -> None:
        decision = machine.decide(
            steps.standing,
            request,
            self.policy,
            now=self.now,
            actor=approval.get("actor") or self.context.actor.client,
            approval_id=uuid.uuid4().hex,
            approved=bool(approval),
        )
        if decision.conflict:
            raise ConflictException(detail=decision.conflict)
        steps.add(Step(decision, steps.standing, self._cascade(user_id, decision), **approval))

    def _requested(self, before: Any, after: Any, reason: str | None, stored: str | None) -> machine.Request | None:
        """What a write asks of the account's state, if anything.

        A write asks when it says ``active`` — a POST or PUT carrying it, a
        PATCH touching it — or changes it, or gives a user that is off a new
        reason (a suspended user asked to deactivate). A PATCH of something
        else does not re-ask what the stored ``active`` says.
        """
        if after.active is None:
            return None
        kind = machine.OFF if after.active is False else machine.ON
        if self._says_active() or after.active != before.active:
            return machine.Request(kind, reason)
        if after.active is False and reason is not None and reason != stored:
            return machine.Request(kind, reason)
        return None

    def _says_active(self) -> bool:
        patch = self.context.patch
        if patch is None:
            return True  # a POST or PUT states the whole resource
        for operation in patch.operations or []:
            if operation.path is not None:
                binding = operation.path.resolve()
                if binding is not None and binding.field_name == "active":
                    return True
            elif isinstance(operation.value, dict) and any(
                k.strip().lower() in ("active", f"{USER_SCHEMA}:active") for k in operation.value
            ):
                return True
        return False

    def _check_reason(self, reason: str | None, stored: str | None) -> None:
        if reason is not None and reason != stored and self.policy.reason(reason) is None:
            codes = ", ".join(r.code for r in self.policy.reasons)
            raise InvalidValueException(detail=f"reason {reason!r} is not one of the policy's reasons: {codes}")

    def _named_removals(self, before: Any) -> set[tuple[str, str]]:
        """The roles the current PATCH removed by naming them, which server roles do not survive."""
        named: set[tuple[str, str]] = set()
        for operation in getattr(self.context.patch, "operations", None) or []:
            if operation.op != "remove" or operation.path is None:
                continue
            binding = operation.path.resolve()
            if binding is None or binding.field_name != "roles" or binding.sub_field_name is not None:
                continue  # removing a role's sub-attribute (roles[value eq "x"].type) names no role
            if operation.path.value_filter is not None:
                selected = operation.path.get(before, strict=False) or []
                named |= {(r.value, r.type) for r in selected if r is not None and r.value}
            elif operation.value is not None:
                values = operation.value if isinstance(operation.value, list) else [operation.value]
                wanted = {(v.get("value"), v.get("type")) for v in values if isinstance(v, dict)}
                for role in before.roles or []:
                    if (role.value, role.type) in wanted or (role.value, None) in wanted:
                        named.add((role.value, role.type))
        return named

    # -- HR: work relationships and role mappings (source 004) ------------------------------

    def _check_relationships(self, ext: LifecycleUser) -> None:
        try:
            validate(read(ext.work_relationships))
        except InvalidRelationships as error:
            raise InvalidValueException(detail=str(error)) from error

    def _hr(self, user: Any, ext: LifecycleUser, steps: Steps, *, earlier: list[Any], before: Any) -> None:
        """Terminations, reversals and a rehire the relationships call for; else autoprovisioning if a mapping moved."""
        timing = self.policy.default_role_loss_timing
        change = changes(earlier, read(ext.work_relationships), timing, self.now)
        entries = {entry.value: entry for entry in ext.work_relationships or []}
        for entry in entries.values():
            if entry.status is None:
                entry.status = "active"
        mappings = self.policy.role_mappings
        for value in change.reverse:
            entries[value].status = "active"
            self._reverse(user, value, steps, qualified(user, mappings))
        for value in change.terminate:
            entries[value].status = "terminated"
            others = others_active(read(entries.values()), [value])
            decision = machine.terminate(
                steps.standing, qualified(user, mappings), others_active=others, policy=self.policy, now=self.now
            )
            steps.add(Step(decision, steps.standing, self._cascade(user.id, decision), relationship=value))
        if change.rehire:
            decision = machine.rehire(steps.standing, qualified(user, mappings), self.policy, now=self.now)
            steps.add(Step(decision, steps.standing, self._cascade(user.id, decision)))
        if change.schedule or any(relationship.termination for relationship in earlier):
            # Without a termination date before or after the write, the ledger holds nothing for this user:
            # most writes (and every creation without one) skip reading it.
            due.schedule(self.context.session, user.id, dict(change.schedule))
        if not (change.reverse or change.terminate or change.rehire) and mappings:
            now_qualified = qualified(user, mappings)
            moved = None if before is None else qualified(before, mappings) ^ now_qualified
            if moved is None or moved:
                steps.add(Step(machine.autoprovision(steps.standing, now_qualified, changed=moved), steps.standing))

    def _reverse(self, user: Any, value: str, steps: Steps, now_qualified: set[str]) -> None:
        terminations = events.find(self.context, user.id, ("terminate",), relationship=value)
        last = terminations[-1] if terminations else None
        lost = tuple(Role(r.value, r.type) for r in (last.roles_lost or [])) if last else ()
        gained = tuple(Role(r.value, r.type) for r in (last.roles_gained or [])) if last else ()
        suspended_by_it = bool(last and last.state_to == "suspended" and last.state_from != "suspended")
        decision = machine.reverse_termination(
            steps.standing, lost, gained, suspended_by_it, now_qualified, now=self.now
        )
        steps.add(Step(decision, steps.standing, self._cascade(user.id, decision), relationship=value))

    # -- On demand and when due ---------------------------------------------------------

    def autoprovision(self, user_id: str) -> tuple[list[Role], list[Role]]:
        """Reconcile a user's ``auto`` roles with the mappings now; never changes its state."""
        user = self.storage.get(self.storage.types["User"], user_id)
        standing = standing_of(user)
        if standing.state == machine.DEACTIVATED:
            raise ConflictException(detail="a deactivated user holds no roles; reactivate it first")
        steps = Steps(standing)
        decision = machine.autoprovision(standing, qualified(user, self.policy.role_mappings))
        steps.add(Step(decision, standing, cause=MANUAL))  # an operator asked
        self._finish(user, steps, locked=(extension(user) or LifecycleUser()).locked)
        self.storage.update(self.storage.types["User"], user, hooks=False)
        return difference(standing.roles, steps.standing.roles)

    def apply_due(self, user_id: str) -> bool:
        """Apply the user's terminations whose time has come; True when one was applied."""
        user_type = self.storage.types["User"]
        try:
            user = self.storage.get(user_type, user_id)
        except NotFoundException:
            return False  # deleted since its termination was scheduled
        ext = extension(user) or LifecycleUser()
        steps = Steps(standing_of(user))
        self._hr(user, ext, steps, earlier=read(ext.work_relationships), before=user)
        if not steps.done:
            return False
        self._finish(user, steps, locked=ext.locked)
        self.storage.update(user_type, user, hooks=False)
        return True

    # -- Approvals ------------------------------------------------------------------------

    def approve(self, approval: ApprovalRow, approver: str) -> Any:
        """Perform a pending transition as if requested then, by its requester."""
        user_type = self.storage.types["User"]
        user = self.storage.get(user_type, approval.user_id)
        self._event(
            user, events.Record("approvalGranted", MANUAL, approval.reason, approval=approval.id, actor=approver)
        )
        steps = Steps(standing_of(user))
        self._request(
            approval.user_id,
            steps,
            machine.Request(machine.OFF, approval.reason),
            approval=approval.id,
            actor=approval.requested_by,
        )
        self._finish(user, steps, locked=(extension(user) or LifecycleUser()).locked)
        return self.storage.update(user_type, user, hooks=False)

    def withdraw(self, approval: ApprovalRow, action: str, actor: str) -> Any:
        """Reject or cancel a pending transition: the user keeps its standing, without the pending request."""
        user_type = self.storage.types["User"]
        user = self.storage.get(user_type, approval.user_id)
        ext = extension(user)
        if ext is not None:
            ext.pending_approval = None
        self._event(user, events.Record(action, MANUAL, approval.reason, approval=approval.id, actor=actor))
        return self.storage.update(user_type, user, hooks=False)

    # -- Applying -------------------------------------------------------------------------

    def _cascade(self, user_id: str, decision: machine.Decision) -> Moves:
        if decision.cascade is None:
            return Moves()
        if decision.cascade != "reverse" and not self.policy.table(decision.cascade):
            return Moves()  # an empty table (the shipped suspension) moves nothing: no need to read credentials
        held = credentials.held_by(self.context, user_id)
        if not held:
            return Moves()
        views = [credentials.view(c) for c in held]
        if decision.cascade == "reverse":
            moves = cascades.reverse(credentials.moved_since_active(self.context, user_id), views)
        else:
            moves = cascades.cascade(views, self.policy.table(decision.cascade))
        credentials.move(self.context, held, moves)
        return moves

    def _finish(self, user: Any, steps: Steps, *, locked: bool | None) -> None:
        """Store the final standing on the user and record one event per transition."""
        self._store(user, steps.standing, locked=locked)
        for step in steps.done:
            self._record(user, step)

    def _store(self, user: Any, standing: machine.Standing, *, locked: bool | None) -> None:
        ext = extension(user)
        assert ext is not None
        ext.state = standing.state  # type: ignore[assignment]
        ext.state_cause = standing.cause  # type: ignore[assignment]
        ext.reason = standing.reason
        ext.state_changed = standing.changed
        ext.locked = locked
        pending = standing.pending
        ext.pending_approval = (
            PendingApproval(
                action=pending.action,
                reason=pending.reason,
                requested_by=pending.requested_by,
                requested=pending.requested,
                approval_id=pending.approval_id,
            )
            if pending is not None
            else None
        )
        user.active = standing.state == ACTIVE
        user.roles = [
            RoleModel(value=r.value, type=r.type, display=r.display, primary=r.primary) for r in standing.roles
        ] or None

    def _record(self, user: Any, step: Step) -> None:
        decision = step.decision
        after = decision.standing
        if decision.action == "approvalRequested":
            assert after.pending is not None
            record_request(self.context.session, user.id, after.pending)
            self._event(
                user,
                events.Record("approvalRequested", MANUAL, after.pending.reason, approval=after.pending.approval_id),
            )
            return
        gained, lost = difference(step.before.roles, after.roles)
        self._event(
            user,
            events.Record(
                action=decision.action or "",
                cause=step.recorded_cause,
                reason=after.reason if decision.action in OFF_ACTIONS else None,
                gained=gained,
                lost=lost,
                moves=step.moves,
                approval=step.approval,
                actor=step.actor,
                relationship=step.relationship,
                state_from=step.before.state,
                state_to=after.state,
            ),
        )

    def _event(self, user: Any, record: events.Record) -> None:
        events.write(self.context, user, record)
