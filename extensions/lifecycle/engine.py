"""The lifecycle rules applied inside the transaction of a write.

The storage calls ``user_written`` and ``credential_written`` (write hooks)
for every write of a User or a Credential, whatever carried it: POST, PUT,
PATCH with or without a path, a /Bulk operation. This module reads the
request off the states before and after, asks the pure machine what it
means, and applies the decision: the user's lifecycle attributes and roles,
its credentials and certificates, the approval row and the events — all in
the same transaction, so they commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from scim2_models import ConflictException, InvalidValueException, MutabilityException
from scim2_models import Role as RoleModel

from resources.credential import Credential
from resources.lifecycle_event import LifecycleEvent
from scim_server.storage.sql import WriteContext

from . import cascade as cascades
from .approvals import ApprovalRow, record_request
from .cascade import CertificateMove, CertificateView, CredentialMove, CredentialView, Moves
from .machine import ACTIVE, MANUAL, OFF, ON, Decision, Pending, Request, Standing, decide
from .roles import Role, ServerRoleWritten, defaults, difference, merge, typed, union
from .schema import LifecycleUser, PendingApproval

OFF_ACTIONS = ("deactivate", "suspend")
NO_MOVES = Moves()


def user_written(context: WriteContext, resource_type: str, before: Any, after: Any) -> None:
    engine = Lifecycle(context)
    if after is None:
        engine.deleted(before)
    elif before is None:
        engine.created(after)
    else:
        engine.updated(before, after)


def credential_written(context: WriteContext, resource_type: str, before: Any, after: Any) -> None:
    if after is not None:
        Lifecycle(context).check_credential(before, after)


def extension(user: Any) -> LifecycleUser | None:
    ext: LifecycleUser | None = user[LifecycleUser]
    return ext


def roles_of(user: Any) -> list[Role]:
    return [typed(r.value, r.type, r.display, r.primary) for r in user.roles or [] if r.value]


def standing_of(user: Any) -> Standing:
    ext = extension(user)
    state = ext.state if ext is not None and ext.state else (ACTIVE if user.active is not False else "suspended")
    pending = ext.pending_approval if ext is not None else None
    return Standing(
        state=state,
        cause=ext.state_cause if ext else None,
        reason=ext.reason if ext else None,
        changed=ext.state_changed if ext else None,
        roles=tuple(roles_of(user)),
        pending=Pending(
            pending.action or "",
            pending.reason,
            pending.requested_by or "",
            pending.requested,  # type: ignore[arg-type]
            pending.approval_id or "",
        )
        if pending is not None and pending.approval_id
        else None,
    )


def view(credential: Any) -> CredentialView:
    return CredentialView(
        id=credential.id,
        type=credential.type,
        state=credential.state or "active",
        certificates=tuple(
            CertificateView(c.serial_number, c.issuer, c.state or "valid") for c in credential.certificates or []
        ),
    )


def moves_of(event: Any) -> Moves:
    """The credential and certificate moves an event recorded."""
    return Moves(
        tuple(CredentialMove(c.value, c.type, c.from_, c.to) for c in event.credentials or []),
        tuple(
            CertificateMove(c.credential, c.serial_number, c.issuer, c.from_, c.to, c.revocation_reason)
            for c in event.certificates or []
        ),
    )


class Lifecycle:
    def __init__(self, context: WriteContext) -> None:
        self.context = context
        self.storage = context.storage
        self.policy = context.policy

    # -- Users -----------------------------------------------------------------

    def created(self, user: Any) -> None:
        ext = extension(user) or LifecycleUser()
        user[LifecycleUser] = ext
        self._check_reason(ext.reason, None)
        try:
            client = merge((), roles_of(user))
        except ServerRoleWritten as error:
            raise InvalidValueException(detail=str(error)) from error
        roles = tuple(union(client, defaults(self.policy.default_roles)))
        standing = Standing(ACTIVE, MANUAL, ext.reason, self.context.now, roles)
        request = Request(OFF, ext.reason) if user.active is False else None
        decision = self._decide(standing, request) if request else Decision(standing)
        self._store(user, decision.standing, locked=ext.locked)
        self._record(user, Standing(ACTIVE, None, None, None, roles), decision, Moves())

    def updated(self, before: Any, after: Any) -> None:
        stored = extension(before) or LifecycleUser()
        ext = extension(after)
        if ext is None:  # a client that does not know the extension leaves it as it was
            ext = stored.model_copy(deep=True)
            after[LifecycleUser] = ext
        self._check_reason(ext.reason, stored.reason)
        standing = standing_of(before)
        try:
            roles = merge(standing.roles, roles_of(after), self._named_removals(before))
        except ServerRoleWritten as error:
            raise InvalidValueException(detail=str(error)) from error
        # The reason is the client's attribute: what it writes is kept, and decides what active=false
        # means; each transition's own reason is in its event.
        edited = replace(standing, roles=tuple(roles), reason=ext.reason)
        request = None if after.active is None else Request(OFF if after.active is False else ON, ext.reason)
        decision = self._decide(edited, request) if request else Decision(edited)
        moves = self._cascade(before.id, decision)
        self._store(after, decision.standing, locked=ext.locked)
        self._record(after, standing, decision, moves)
        if bool(ext.locked) != bool(stored.locked):
            self._event(after, "lock" if ext.locked else "unlock", reason=None, cause=MANUAL)

    def deleted(self, user: Any) -> None:
        credentials = self._credentials(user.id)
        moves = cascades.cascade(
            [view(c) for c in credentials], self.policy.deactivation, revoke_reason="affiliationChanged"
        )
        self._move(credentials, moves)
        self._event(user, "delete", reason=None, cause=MANUAL, lost=roles_of(user), moves=moves)

    def _decide(
        self, standing: Standing, request: Request, *, approved: bool = False, actor: str | None = None
    ) -> Decision:
        decision = decide(
            standing,
            request,
            self.policy,
            now=self.context.now,
            actor=actor or self.context.actor.client,
            approval_id=uuid.uuid4().hex,
            approved=approved,
        )
        if decision.conflict:
            raise ConflictException(detail=decision.conflict)
        return decision

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
            if binding is None or binding.field_name != "roles":
                continue
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

    def _store(self, user: Any, standing: Standing, *, locked: bool | None) -> None:
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

    def _record(
        self,
        user: Any,
        before: Standing,
        decision: Decision,
        moves: Moves,
        *,
        approval: str | None = None,
        actor: str | None = None,
    ) -> None:
        if decision.action is None:
            return
        gained, lost = difference(before.roles, decision.standing.roles)
        if decision.action == "approvalRequested":
            pending = decision.standing.pending
            assert pending is not None
            record_request(self.context.session, user.id, pending)
            self._event(user, "approvalRequested", reason=pending.reason, cause=MANUAL, approval=pending.approval_id)
            return
        self._event(
            user,
            decision.action,
            reason=decision.standing.reason if decision.action in OFF_ACTIONS else None,
            cause=decision.standing.cause or MANUAL,
            gained=gained,
            lost=lost,
            moves=moves,
            approval=approval,
            actor=actor,
        )

    # -- Credentials -------------------------------------------------------------

    def _credentials(self, user_id: str) -> list[Any]:
        return self.storage.find("Credential", f'user.value eq "{user_id}"')

    def _cascade(self, user_id: str, decision: Decision) -> Moves:
        if decision.cascade is None:
            return Moves()
        credentials = self._credentials(user_id)
        if not credentials:
            return Moves()
        views = [view(c) for c in credentials]
        if decision.cascade == "reverse":
            moves = cascades.reverse(self._held_since_active(user_id), views)
        else:
            moves = cascades.cascade(views, self.policy.table(decision.cascade))
        self._move(credentials, moves)
        return moves

    def _held_since_active(self, user_id: str) -> list[Moves]:
        """What the turning-off events since the user was last active moved."""
        events = self.storage.find(
            "LifecycleEvent",
            f'user.value eq "{user_id}" and (action eq "deactivate" or action eq "suspend" or action eq "reactivate")',
            sort_by="meta.created",
        )
        recorded: list[Moves] = []
        for event in events:
            if getattr(event, "action", None) == "reactivate":
                recorded = []
            else:
                recorded.append(moves_of(event))
        return recorded

    def _move(self, credentials: Sequence[Any], moves: Moves) -> None:
        if not moves:
            return
        by_id = {c.id: c for c in credentials}
        touched: dict[str, Any] = {}
        for move in moves.credentials:
            credential = touched.setdefault(move.id, by_id[move.id])
            credential.state = move.to
        for cmove in moves.certificates:
            credential = touched.setdefault(cmove.credential, by_id[cmove.credential])
            for certificate in credential.certificates or []:
                if certificate.serial_number == cmove.serial_number and certificate.issuer == cmove.issuer:
                    certificate.state = cmove.to
                    certificate.revocation_reason = cmove.revocation_reason
        credential_type = self.storage.types["Credential"]
        for credential in touched.values():
            self.storage.update(credential_type, credential)

    def check_credential(self, before: Any, after: Credential) -> None:
        """A credential's own rules: a known type, an existing holder, and revocations that stick."""
        if after.type not in self.policy.credential_types:
            types = ", ".join(self.policy.credential_types)
            raise InvalidValueException(
                detail=f"type {after.type!r} is not one of the policy's credential types: {types}"
            )
        if before is None:
            holder = after.user.value if after.user else None
            users = self.storage.find("User", f'id eq "{holder}"') if holder else []
            if not users:
                raise InvalidValueException(detail=f"user: no User has the id {holder!r}")
            after.user.ref = f"{self.storage.endpoint('User')}/{holder}"  # type: ignore[union-attr]
            after.user.display = getattr(users[0], "user_name", None)  # type: ignore[union-attr]
        stored = {(c.serial_number, c.issuer): c for c in (before.certificates or [])} if before else {}
        for certificate in after.certificates or []:
            certificate.state = certificate.state or "valid"
            previous = stored.get((certificate.serial_number, certificate.issuer))
            if previous is not None and previous.state == "revoked" and certificate.state != "revoked":
                raise MutabilityException(
                    detail=f"certificate {certificate.serial_number} is revoked; a revoked certificate never comes back"
                )
            if previous is not None and previous.state != certificate.state:
                certificate.state_changed = self.context.now
            else:
                certificate.state_changed = previous.state_changed if previous is not None else None

    # -- Events ------------------------------------------------------------------

    def _event(
        self,
        user: Any,
        action: str,
        *,
        reason: str | None,
        cause: str,
        gained: Iterable[Role] = (),
        lost: Iterable[Role] = (),
        moves: Moves = NO_MOVES,
        approval: str | None = None,
        actor: str | None = None,
    ) -> None:
        event = LifecycleEvent.model_validate(
            {
                "user": {
                    "value": user.id,
                    "$ref": f"{self.storage.endpoint('User')}/{user.id}",
                    "display": user.user_name,
                },
                "action": action,
                "reason": reason,
                "cause": cause,
                "actor": actor or self.context.actor.client,
                "occurred": self.context.now,
                "approvalId": approval,
                "rolesGained": [{"value": r.value, "type": r.type} for r in gained] or None,
                "rolesLost": [{"value": r.value, "type": r.type} for r in lost] or None,
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
        self.storage.create(self.storage.types["LifecycleEvent"], event)

    # -- Approvals -----------------------------------------------------------------

    def approve(self, approval: ApprovalRow, approver: str) -> Any:
        """Perform a pending transition as if requested then, by its requester."""
        user_type = self.storage.types["User"]
        user = self.storage.get(user_type, approval.user_id)
        standing = standing_of(user)
        self._event(user, "approvalGranted", reason=approval.reason, cause=MANUAL, approval=approval.id, actor=approver)
        decision = self._decide(standing, Request(OFF, approval.reason), approved=True, actor=approval.requested_by)
        moves = self._cascade(approval.user_id, decision)
        self._store(user, decision.standing, locked=(extension(user) or LifecycleUser()).locked)
        self._record(user, standing, decision, moves, approval=approval.id, actor=approval.requested_by)
        return self.storage.update(user_type, user, hooks=False)

    def withdraw(self, approval: ApprovalRow, action: str, actor: str) -> Any:
        """Reject or cancel a pending transition: the user keeps its standing, without the pending request."""
        user_type = self.storage.types["User"]
        user = self.storage.get(user_type, approval.user_id)
        ext = extension(user)
        if ext is not None:
            ext.pending_approval = None
        self._event(user, action, reason=approval.reason, cause=MANUAL, approval=approval.id, actor=actor)
        return self.storage.update(user_type, user, hooks=False)
