"""Which credentials and certificates a transition moves, and how a reactivation moves them back. Pure.

Only an ``active`` credential and a ``valid`` certificate move; anything
already further along (inactive, locked, on hold, revoked) stays where it
is (source 000, "Related credentials"). A reactivation reverses exactly the
recorded moves that can be reversed — ``inactive`` back to ``active``,
``onHold`` back to ``valid`` — for items still where the move left them;
locks and revocations are kept, and so are the holds on the certificates of
a credential that does not end up active.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scim_server.policy import EndState

REVERSIBLE_CREDENTIAL = {"inactive": "active"}
REVERSIBLE_CERTIFICATE = {"onHold": "valid"}

REVOCATION_REASONS = {"onHold": "certificateHold", "revoked": "privilegeWithdrawn"}
"""The RFC 5280 CRLReason a cascade records: a hold is ``certificateHold``; a revocation because the
holder lost the right to it is ``privilegeWithdrawn`` (``affiliationChanged`` when the user is deleted)."""


@dataclass(frozen=True)
class CertificateView:
    serial_number: str
    issuer: str | None
    state: str


@dataclass(frozen=True)
class CredentialView:
    id: str
    type: str
    state: str
    certificates: tuple[CertificateView, ...] = ()


@dataclass(frozen=True)
class CredentialMove:
    id: str
    type: str
    from_: str
    to: str


@dataclass(frozen=True)
class CertificateMove:
    credential: str
    serial_number: str
    issuer: str | None
    from_: str
    to: str
    revocation_reason: str | None


@dataclass(frozen=True)
class Moves:
    credentials: tuple[CredentialMove, ...] = ()
    certificates: tuple[CertificateMove, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.credentials or self.certificates)


def cascade(
    credentials: Iterable[CredentialView], table: Mapping[str, EndState], *, revoke_reason: str | None = None
) -> Moves:
    """The moves a table makes on a user's credentials.

    ``revoke_reason`` (a deletion) additionally revokes every certificate
    not revoked yet, with that reason.
    """
    credential_moves: list[CredentialMove] = []
    certificate_moves: list[CertificateMove] = []
    for credential in credentials:
        end = table.get(credential.type)
        if end is not None and credential.state == "active" and end.credential != "active":
            credential_moves.append(CredentialMove(credential.id, credential.type, "active", end.credential))
        for certificate in credential.certificates:
            target = None
            reason = None
            if end is not None and certificate.state == "valid" and end.certificates != "valid":
                target, reason = end.certificates, REVOCATION_REASONS.get(end.certificates)
            if revoke_reason is not None and (target or certificate.state) != "revoked":
                target, reason = "revoked", revoke_reason
            if target is not None and target != certificate.state:
                certificate_moves.append(
                    CertificateMove(
                        credential.id, certificate.serial_number, certificate.issuer, certificate.state, target, reason
                    )
                )
    return Moves(tuple(credential_moves), tuple(certificate_moves))


def reverse(recorded: Iterable[Moves], credentials: Iterable[CredentialView]) -> Moves:
    """The moves that undo what was recorded, for items still in the state the record left them in."""
    recorded = list(recorded)
    current = {c.id: c for c in credentials}
    credential_moves: dict[str, CredentialMove] = {}
    for move in (m for moves in recorded for m in moves.credentials):
        credential = current.get(move.id)
        back = REVERSIBLE_CREDENTIAL.get(move.to)
        if credential is not None and back == move.from_ and credential.state == move.to:
            credential_moves[move.id] = CredentialMove(move.id, move.type, move.to, back)
    certificate_moves: dict[tuple[str, str, str | None], CertificateMove] = {}
    for held in (m for moves in recorded for m in moves.certificates):
        credential = current.get(held.credential)
        release = REVERSIBLE_CERTIFICATE.get(held.to)
        if credential is None or release != held.from_:
            continue
        if credential.state != "active" and held.credential not in credential_moves:
            continue  # a credential that stays inactive or locked keeps its certificates held
        identity = (held.serial_number, held.issuer)
        certificate = next((c for c in credential.certificates if (c.serial_number, c.issuer) == identity), None)
        if certificate is not None and certificate.state == held.to:
            certificate_moves[(held.credential, *identity)] = CertificateMove(
                held.credential, held.serial_number, held.issuer, held.to, release, None
            )
    return Moves(tuple(credential_moves.values()), tuple(certificate_moves.values()))
