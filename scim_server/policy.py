"""The lifecycle policy: one TOML file the administrator edits (``SCIM_POLICY_FILE``).

Validated with marshmallow at start-up; an invalid file stops the server
with the key and the problem. Without a file the shipped defaults below apply
(the reasons and end states of source document 000, and the suspension
behaviour of source document 004); ``scim-server policy show`` prints the
effective policy as TOML.

Merging: ``[deactivation]`` entries replace the shipped entry of their
credential type and keep the others; every other key replaces its default as
a whole (a file that lists ``[[reasons]]`` lists all of them).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import tomli_w
from marshmallow import RAISE, Schema, ValidationError, validate, validates_schema
from marshmallow import fields as mfields
from scim2_models import InvalidFilterException, ScimFilter

MODES = ("deactivate", "suspend")
CREDENTIAL_STATES = ("active", "inactive", "locked")
CERTIFICATE_STATES = ("valid", "onHold", "revoked")
ROLE_LOSS_TIMINGS = ("onTerminationDate", "dayAfterTermination")
APPROVABLE = ("deactivate", "suspend")


class PolicyError(RuntimeError):
    """The policy file cannot be used; the message names the key."""


@dataclass(frozen=True)
class EndState:
    """Where a credential and its certificates end up.

    In the file: ``card = { credential = "inactive", certificates = "onHold" }``.
    """

    credential: str
    certificates: str


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    mode: str


@dataclass(frozen=True)
class RoleMapping:
    """A role granted (type ``auto``) to every user the filter matches."""

    role: str
    filter: str


CREDENTIAL_TYPES = ("card", "temporaryCard", "virtualSmartCard", "mobileId", "softToken")

DEACTIVATION: Mapping[str, EndState] = MappingProxyType(
    {
        "card": EndState("inactive", "onHold"),
        "temporaryCard": EndState("locked", "revoked"),
        "virtualSmartCard": EndState("inactive", "onHold"),
        "mobileId": EndState("inactive", "onHold"),
        "softToken": EndState("inactive", "onHold"),
    }
)
"""Source 000, "Related credentials": the end state of each credential type and its certificates."""

REASONS = (
    Reason("parentalLeave", "Parental leave", "deactivate"),
    Reason("leaveOfAbsence", "Leave of absence", "deactivate"),
    Reason("temporaryDeactivation", "Need to temporarily deactivate the user", "deactivate"),
    Reason("securityReview", "Security review", "suspend"),
    Reason("termination", "Termination", "deactivate"),
)
"""Source 000's reasons (deactivate), a suspension for security reviews, and terminations."""


@dataclass(frozen=True)
class Policy:
    default_mode: str = "suspend"
    default_roles: tuple[str, ...] = ("user",)
    user_account_maintenance: bool = True
    default_role_loss_timing: str = "onTerminationDate"
    credential_types: tuple[str, ...] = CREDENTIAL_TYPES
    reasons: tuple[Reason, ...] = REASONS
    deactivation: Mapping[str, EndState] = field(default_factory=lambda: DEACTIVATION)
    suspension: Mapping[str, EndState] = field(default_factory=lambda: MappingProxyType({}))
    approval: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType(dict.fromkeys(APPROVABLE, False)))
    role_mappings: tuple[RoleMapping, ...] = ()

    def reason(self, code: str | None) -> Reason | None:
        return next((r for r in self.reasons if r.code == code), None)

    def mode_of(self, code: str | None) -> str:
        """What turning a user off for this reason means: the reason's mode, or ``defaultMode``."""
        reason = self.reason(code)
        return reason.mode if reason is not None else self.default_mode

    def table(self, mode: str) -> Mapping[str, EndState]:
        return self.deactivation if mode == "deactivate" else self.suspension

    def requires_approval(self, action: str) -> bool:
        return bool(self.approval.get(action, False))

    def as_dict(self) -> dict[str, Any]:
        """The policy in the file's own shape (``policy show``, ``GET /admin/policy``)."""
        return {
            "defaultMode": self.default_mode,
            "defaultRoles": list(self.default_roles),
            "userAccountMaintenance": self.user_account_maintenance,
            "defaultRoleLossTiming": self.default_role_loss_timing,
            "credentialTypes": list(self.credential_types),
            "reasons": [{"code": r.code, "label": r.label, "mode": r.mode} for r in self.reasons],
            "deactivation": {
                t: {"credential": e.credential, "certificates": e.certificates} for t, e in self.deactivation.items()
            },
            "suspension": {
                t: {"credential": e.credential, "certificates": e.certificates} for t, e in self.suspension.items()
            },
            "approval": dict(self.approval),
            "roleMappings": [{"role": m.role, "filter": m.filter} for m in self.role_mappings],
        }

    def as_toml(self) -> str:
        return tomli_w.dumps(self.as_dict())


class _ReasonSchema(Schema):
    class Meta:
        unknown = RAISE

    code = mfields.String(required=True, validate=validate.Regexp(r"^[A-Za-z][A-Za-z0-9_.-]*$"))
    label = mfields.String(load_default=None)
    mode = mfields.String(required=True, validate=validate.OneOf(MODES))


class _EndStateSchema(Schema):
    class Meta:
        unknown = RAISE

    credential = mfields.String(required=True, validate=validate.OneOf(CREDENTIAL_STATES))
    certificates = mfields.String(required=True, validate=validate.OneOf(CERTIFICATE_STATES))


class _ApprovalSchema(Schema):
    class Meta:
        unknown = RAISE

    deactivate = mfields.Boolean(load_default=False)
    suspend = mfields.Boolean(load_default=False)


class _RoleMappingSchema(Schema):
    class Meta:
        unknown = RAISE

    role = mfields.String(required=True, validate=validate.Length(min=1))
    filter = mfields.String(required=True)

    @validates_schema
    def _parses(self, data: dict[str, Any], **_: Any) -> None:
        try:
            ScimFilter(data["filter"])
        except InvalidFilterException as exception:
            raise ValidationError(f"not a SCIM filter: {exception.detail}", "filter") from exception


class _PolicySchema(Schema):
    class Meta:
        unknown = RAISE

    defaultMode = mfields.String(validate=validate.OneOf(MODES))
    defaultRoles = mfields.List(mfields.String(validate=validate.Length(min=1)))
    userAccountMaintenance = mfields.Boolean()
    defaultRoleLossTiming = mfields.String(validate=validate.OneOf(ROLE_LOSS_TIMINGS))
    credentialTypes = mfields.List(mfields.String(validate=validate.Length(min=1)), validate=validate.Length(min=1))
    reasons = mfields.List(mfields.Nested(_ReasonSchema))
    deactivation = mfields.Dict(keys=mfields.String(), values=mfields.Nested(_EndStateSchema))
    suspension = mfields.Dict(keys=mfields.String(), values=mfields.Nested(_EndStateSchema))
    approval = mfields.Nested(_ApprovalSchema)
    roleMappings = mfields.List(mfields.Nested(_RoleMappingSchema))

    @validates_schema
    def _coherent(self, data: dict[str, Any], **_: Any) -> None:
        codes = [reason["code"] for reason in data.get("reasons", [])]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValidationError(f"reason codes must be unique: {', '.join(duplicates)}", "reasons")
        types = data.get("credentialTypes", list(CREDENTIAL_TYPES))
        for table in ("deactivation", "suspension"):
            unknown = sorted(set(data.get(table, {})) - set(types))
            if unknown:
                raise ValidationError(f"not in credentialTypes: {', '.join(unknown)}", table)
        deactivation = {**{t: e for t, e in DEACTIVATION.items() if t in types}, **data.get("deactivation", {})}
        missing = [t for t in types if t not in deactivation]
        if missing:
            raise ValidationError(f"no end state for credential types: {', '.join(missing)}", "deactivation")


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        return [line for key, value in messages.items() for line in _flatten(value, f"{prefix}{key}.")]
    if isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        return [f"{prefix.rstrip('.')}: {' '.join(messages)}"]
    return [f"{prefix.rstrip('.')}: {messages}"]


def parse_policy(document: Mapping[str, Any], origin: str = "policy") -> Policy:
    """A policy from the decoded file, over the shipped defaults."""
    try:
        data = _PolicySchema().load(dict(document))
    except ValidationError as exception:
        raise PolicyError(f"invalid policy in {origin}: " + "; ".join(_flatten(exception.messages))) from exception

    def end_states(table: Mapping[str, Any]) -> dict[str, EndState]:
        return {name: EndState(**entry) for name, entry in table.items()}

    defaults = Policy()
    types = tuple(data.get("credentialTypes", defaults.credential_types))
    deactivation = {t: e for t, e in DEACTIVATION.items() if t in types} | end_states(data.get("deactivation", {}))
    return Policy(
        default_mode=data.get("defaultMode", defaults.default_mode),
        default_roles=tuple(dict.fromkeys(data.get("defaultRoles", defaults.default_roles))),
        user_account_maintenance=data.get("userAccountMaintenance", defaults.user_account_maintenance),
        default_role_loss_timing=data.get("defaultRoleLossTiming", defaults.default_role_loss_timing),
        credential_types=types,
        reasons=tuple(Reason(r["code"], r["label"] or r["code"], r["mode"]) for r in data["reasons"])
        if "reasons" in data
        else defaults.reasons,
        deactivation=MappingProxyType(deactivation),
        suspension=MappingProxyType(end_states(data.get("suspension", {}))),
        approval=MappingProxyType({**dict(defaults.approval), **data.get("approval", {})}),
        role_mappings=tuple(RoleMapping(m["role"], m["filter"]) for m in data.get("roleMappings", [])),
    )


def load_policy(path: str | None) -> Policy:
    """The policy of a file, or the shipped defaults when there is none."""
    if not path:
        return Policy()
    try:
        with open(path, "rb") as stream:
            document = tomllib.load(stream)
    except FileNotFoundError as exception:
        raise PolicyError(f"SCIM_POLICY_FILE: no file at {path}") from exception
    except tomllib.TOMLDecodeError as exception:
        raise PolicyError(f"SCIM_POLICY_FILE: {path} is not valid TOML: {exception}") from exception
    return parse_policy(document, path)
