"""Bearer tokens of named clients: created once, shown once, stored as hashes.

A token is 256 random bits, so a plain SHA-256 is the right hash: there is
nothing to brute-force, and lookups stay one indexed query. Expiry and
revocation are read from the database on every request, so they take effect
at once on every process.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Integer, String, bindparam, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, UTCDateTime, utcnow

SCOPES = ("read", "write", "approve", "admin", "metrics")
"""``metrics`` reads /metrics and nothing else: the scraper's token should not be able to administer."""
TOKEN_PREFIX = "scim_"


class TokenRow(Base):
    __tablename__ = "scim_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client: Mapped[str] = mapped_column(String(128), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    expires: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Principal:
    """Who sent a request: the client a token belongs to, and what it may do."""

    client: str
    scopes: frozenset[str]
    token_id: int | None = None
    user_id: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes


SYSTEM = Principal(client="system", scopes=frozenset(SCOPES))
"""The actor of writes the server makes on its own, from the command line or a scheduler."""


@dataclass(frozen=True)
class TokenInfo:
    client: str
    hint: str
    scopes: tuple[str, ...]
    user_id: str | None
    created: datetime.datetime
    expires: datetime.datetime | None
    revoked: datetime.datetime | None

    @property
    def status(self) -> str:
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= utcnow():
            return "expired"
        return "active"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    client: str,
    scopes: Iterable[str],
    *,
    expires_in_days: float | None = None,
    user_id: str | None = None,
) -> str:
    """Store a new token for a client, and return it: the only time it is ever seen."""
    scopes = tuple(dict.fromkeys(scopes))
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))} (known: {', '.join(SCOPES)})")
    if not scopes:
        raise ValueError("a token needs at least one scope")
    if not client.strip():
        raise ValueError("a token needs a client name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        TokenRow(
            client=client,
            token_hash=digest(token),
            hint=token[: len(TOKEN_PREFIX) + 4],
            scopes=" ".join(scopes),
            user_id=user_id,
            created=now,
            expires=now + datetime.timedelta(days=expires_in_days) if expires_in_days else None,
        )
    )
    return token


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.scalars(select(TokenRow).order_by(TokenRow.client, TokenRow.id))
    return [
        TokenInfo(r.client, r.hint, tuple(r.scopes.split()), r.user_id, r.created, r.expires, r.revoked) for r in rows
    ]


def revoke_tokens(session: Session, client: str) -> int:
    """Revoke every live token of a client; returns how many were revoked."""
    result = session.execute(
        update(TokenRow).where(TokenRow.client == client, TokenRow.revoked.is_(None)).values(revoked=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


LOOKUP = select(TokenRow.id, TokenRow.client, TokenRow.scopes, TokenRow.user_id, TokenRow.token_hash).where(
    TokenRow.token_hash == bindparam("token_hash"),
    TokenRow.revoked.is_(None),
    or_(TokenRow.expires.is_(None), TokenRow.expires > bindparam("now")),
)
"""The live token with a hash. Built once: it runs on every request."""


def authenticate(connection: Connection, token: str) -> Principal | None:
    """The principal of a presented token, or None when it is unknown, expired or revoked.

    One indexed query on a plain connection: it runs for every request, so it skips the ORM session.
    """
    hashed = digest(token)
    row = connection.execute(LOOKUP, {"token_hash": hashed, "now": utcnow()}).first()
    if row is None or not hmac.compare_digest(row.token_hash, hashed):
        return None
    return Principal(client=row.client, scopes=frozenset(row.scopes.split()), token_id=row.id, user_id=row.user_id)
