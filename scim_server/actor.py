"""Who is acting: the principal of the current request, job or command.

Kept in a context variable so that the storage can record the actor of every
write without the protocol layer passing it through calls it does not own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .tokens import SYSTEM, Principal

_current: ContextVar[Principal | None] = ContextVar("scim_actor", default=None)


def current_actor() -> Principal:
    """The acting principal; the server itself when no request or command set one."""
    return _current.get() or SYSTEM


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)


def set_actor(principal: Principal | None) -> None:
    """For request hooks that cannot wrap the request in a ``with`` block."""
    _current.set(principal)
