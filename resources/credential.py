"""The Credential resource type, served at ``/Credentials``: cards, mobile IDs, soft tokens and their certificates.

A credential belongs to one user for life (``user`` is immutable, and the
relation survives the user's deactivation and deletion). Its state and its
certificates' states are what the lifecycle cascade moves; the rules that
protect them (a revoked certificate stays revoked, types come from the
policy, the holder must exist) are enforced by the lifecycle extension.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator
from scim2_models import URN, CaseExact, ComplexAttribute, Mutability, Reference, Required, Resource

from scim_server.canonical import canonical
from scim_server.registry import Registry

if TYPE_CHECKING:
    from scim2_models import User  # the resource type Reference["User"] names

SCHEMA = "urn:scim-server:schemas:2.0:Credential"

CRL_REASONS = Literal[
    "unspecified",
    "keyCompromise",
    "cACompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "certificateHold",
    "removeFromCRL",
    "privilegeWithdrawn",
    "aACompromise",
]
"""RFC 5280 §5.3.1 CRLReason names."""

CredentialState = Literal["active", "inactive", "locked"]
CertificateState = Literal["valid", "onHold", "revoked"]


class Holder(ComplexAttribute):
    value: Annotated[str | None, Mutability.immutable, Required.true, CaseExact.true] = None
    """The ``id`` of the user holding the credential."""

    ref: Annotated[Reference["User"] | None, Mutability.immutable, Required.true] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of that user. Required as RFC 7643 requires ``manager.$ref``, but derived from
    ``value`` when a client leaves it out, and normalised by the server whatever a client sends."""

    @model_validator(mode="before")
    @classmethod
    def _derive_reference(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("value") and not data.get("$ref") and not data.get("ref"):
            return {**data, "$ref": f"Users/{data['value']}"}
        return data

    display: Annotated[str | None, Mutability.read_only] = None
    """The holder's userName when the credential was issued (the server sets it)."""


class Certificate(ComplexAttribute):
    serial_number: Annotated[str | None, Required.true, CaseExact.true] = None
    """Serial number, unique per issuer; with ``issuer`` it identifies the certificate across writes."""

    issuer: Annotated[str | None, CaseExact.true] = None
    subject: Annotated[str | None, CaseExact.true] = None
    usage: str | None = None
    """What the certificate is for: ``authentication``, ``signature``, ``encryption``…"""

    not_before: datetime.datetime | None = None
    not_after: datetime.datetime | None = None

    state: CertificateState | None = canonical(CertificateState)
    """``valid``, ``onHold`` (may become valid again) or ``revoked`` (never comes back)."""

    revocation_reason: CRL_REASONS | None = canonical(CRL_REASONS)
    """Why the certificate is on hold or revoked, as an RFC 5280 CRLReason name."""

    state_changed: Annotated[datetime.datetime | None, Mutability.read_only] = None
    """When ``state`` last changed."""


class Credential(Resource[Any]):
    __schema__ = URN(SCHEMA)

    type: Annotated[str | None, Mutability.immutable, Required.true, CaseExact.true] = Field(
        default=None, examples=["card", "temporaryCard", "virtualSmartCard", "mobileId", "softToken"]
    )
    """One of the policy's ``credentialTypes``: the shipped five (advertised as canonicalValues) or one it adds."""

    state: Annotated[CredentialState | None, Required.true] = canonical(CredentialState)
    """``active``, ``inactive`` (may become active again) or ``locked``."""

    user: Annotated[Holder | None, Required.true] = None
    """The holder; the relation remains when the user is deactivated or deleted.

    Its ``value`` is immutable (a credential never changes hands); ``$ref`` and
    ``display`` are the server's. Declaring the complex attribute itself
    immutable would refuse a client echoing it back with its ``$ref`` as an
    absolute URL, so the immutability sits on the sub-attribute that carries it.
    """

    serial_number: Annotated[str | None, CaseExact.true] = None
    display_name: str | None = None
    valid_from: datetime.datetime | None = None
    valid_to: datetime.datetime | None = None
    certificates: list[Certificate] | None = None


def register(registry: Registry) -> None:
    registry.add_resource("Credential", "/Credentials", Credential, "Credentials and their certificates")
