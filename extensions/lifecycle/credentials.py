"""A user's credentials inside a lifecycle write: reading them, moving them, and the rules of their own writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scim2_models import InvalidValueException, MutabilityException, ScimFilter

from scim_server.storage.sql import WriteContext

from . import events
from .cascade import CertificateMove, CertificateView, CredentialMove, CredentialView, Moves


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


def held_by(context: WriteContext, user_id: str) -> list[Any]:
    """A user's credentials, locked for the rest of the write and read once locked.

    A cascade writes back the credentials it moves: read before the lock, a credential a client wrote
    meanwhile (from another process) would be written back as it was, and the client's write lost.
    """
    held = context.storage.find_equal("Credential", "user.value", user_id)
    locked: set[str] = set()
    while (unlocked := {str(c.id) for c in held} - locked) and context.storage.lock("Credential", sorted(unlocked)):
        locked |= unlocked
        held = context.storage.find_equal("Credential", "user.value", user_id)
    return held


TRANSITIONS = ("deactivate", "suspend", "terminate", "reactivate", "reverseTermination", "rehire")


def moved_since_active(context: WriteContext, user_id: str) -> list[Moves]:
    """What the turning-off events since the user was last active moved (what a reactivation releases).

    Turning off is a deactivation, a suspension or a termination that suspended; turning back on is any
    event that took the user from another state to ``active`` (a reactivation, a rehire, a reversal).
    """
    recorded: list[Moves] = []
    for event in events.find(context, user_id, TRANSITIONS):
        if event.state_to == "active" and event.state_from not in (None, "active"):
            recorded = []
        else:
            recorded.append(moves_of(event))
    return recorded


def move(context: WriteContext, credentials: Sequence[Any], moves: Moves) -> None:
    """Write the moves to the credentials (each write goes through the credential rules)."""
    if not moves:
        return
    by_id = {c.id: c for c in credentials}
    touched: dict[str, Any] = {}
    for credential_move in moves.credentials:
        credential = touched.setdefault(credential_move.id, by_id[credential_move.id])
        credential.state = credential_move.to
    for certificate_move in moves.certificates:
        credential = touched.setdefault(certificate_move.credential, by_id[certificate_move.credential])
        for certificate in credential.certificates or []:
            if (certificate.serial_number, certificate.issuer) == (
                certificate_move.serial_number,
                certificate_move.issuer,
            ):
                certificate.state = certificate_move.to
                certificate.revocation_reason = certificate_move.revocation_reason
    credential_type = context.storage.types["Credential"]
    for credential in touched.values():
        context.storage.update(credential_type, credential)


def check(context: WriteContext, before: Any, after: Any) -> None:
    """A credential's own rules: a known type, an existing holder, and revocations that stick."""
    policy = context.policy
    if after.type not in policy.credential_types:
        types = ", ".join(policy.credential_types)
        raise InvalidValueException(detail=f"type {after.type!r} is not one of the policy's credential types: {types}")
    if before is None:
        holder = after.user.value if after.user else None
        if holder:  # as a foreign key would: a concurrent deletion of the holder commits first, or waits for us
            context.storage.lock("User", [holder], share=True)
        users = context.storage.find("User", f"id eq {ScimFilter.quote(holder)}") if holder else []
        if not users:
            raise InvalidValueException(detail=f"user: no User has the id {holder!r}")
        after.user.ref = f"{context.storage.endpoint('User')}/{holder}"
        after.user.display = getattr(users[0], "user_name", None)
    stored = {(c.serial_number, c.issuer): c for c in (before.certificates or [])} if before else {}
    for certificate in after.certificates or []:
        certificate.state = certificate.state or "valid"
        previous = stored.get((certificate.serial_number, certificate.issuer))
        if previous is not None and previous.state == "revoked" and certificate.state != "revoked":
            raise MutabilityException(
                detail=f"certificate {certificate.serial_number} is revoked; a revoked certificate never comes back"
            )
        if previous is not None and previous.state != certificate.state:
            certificate.state_changed = context.now
        else:
            certificate.state_changed = previous.state_changed if previous is not None else None
