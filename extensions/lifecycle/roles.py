"""Role provenance: which roles belong to the client and which to the server. Pure.

``roles[].type`` says where a role came from (SPEC §2): ``default`` and
``auto`` are granted by the server (the policy's default roles, role
mappings); every other type — ``manual``, ``requested``, or a client's own
label such as Entra's ``WindowsAzureActiveDirectoryRole`` — belongs to the
client, and a role written without a type is ``manual``.

A client rewrites its own roles freely. A server role survives a PUT or a
PATCH that replaces ``roles`` as a whole; the client removes it only by
naming it (``roles[value eq "finance"]``, or Entra's remove-with-value).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SERVER_TYPES = frozenset({"default", "auto"})
MANUAL = "manual"


@dataclass(frozen=True)
class Role:
    value: str
    type: str
    display: str | None = None
    primary: bool | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.value, self.type

    @property
    def server_owned(self) -> bool:
        return self.type in SERVER_TYPES


class ServerRoleWritten(ValueError):
    """A client wrote a server role that does not exist: it cannot grant one."""

    def __init__(self, role: Role) -> None:
        super().__init__(
            f"roles: {role.value!r} of type {role.type!r} would be granted by the server "
            "(types default and auto are the server's); write it as manual or requested"
        )


def typed(value: str, type_: str | None, display: str | None = None, primary: bool | None = None) -> Role:
    return Role(value, type_ or MANUAL, display, primary)


def merge(before: Sequence[Role], after: Sequence[Role], named: Iterable[tuple[str, str]] = ()) -> list[Role]:
    """The roles to store after a client's write.

    ``after`` is what the client's request left; ``named`` the server roles
    it removed by name. Raises ServerRoleWritten for a server role the client
    made up.
    """
    held = {role.key for role in before if role.server_owned}
    named = set(named)
    result: dict[tuple[str, str], Role] = {}
    for role in after:
        if role.server_owned and role.key not in held:
            raise ServerRoleWritten(role)
        result.setdefault(role.key, role)
    for role in before:
        if role.server_owned and role.key not in result and role.key not in named:
            result[role.key] = role
    return list(result.values())


def union(*groups: Iterable[Role]) -> list[Role]:
    """The roles of every group, once each (by value and type), in order."""
    result: dict[tuple[str, str], Role] = {}
    for group in groups:
        for role in group:
            result.setdefault(role.key, role)
    return list(result.values())


def defaults(values: Iterable[str]) -> list[Role]:
    return [Role(value, "default") for value in values]


def difference(before: Sequence[Role], after: Sequence[Role]) -> tuple[list[Role], list[Role]]:
    """(gained, lost) between two role lists, by value and type."""
    before_keys = {role.key for role in before}
    after_keys = {role.key for role in after}
    return [r for r in after if r.key not in before_keys], [r for r in before if r.key not in after_keys]
