"""Rate limits per client, shared by every process and host: in the database, or in Redis.

Each client (the name its tokens share) has a token bucket of ``burst``
requests refilled at ``rate`` per second, kept as one number: the
*theoretical arrival time* of its next request (GCRA, the generic cell rate
algorithm). A request is admitted when that time, moved one interval on, lies
no more than ``burst`` intervals ahead of now; otherwise the client waits
for the difference. One number per client means one atomic statement per
request — an UPSERT on the database, a Lua script on Redis — so any number of
processes share each client's limit without a lock, a read-modify-write race,
or a table of old windows to clean up.

Times are the application's clock, in integer microseconds (exact on both
databases and in Redis' Lua numbers): hosts that share a limit need clocks in
sync (NTP), and a skew between them only shifts a client's pace by as much.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import BigInteger, Boolean, Engine, String, Table, bindparam, case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import TooManyRequests

from . import metrics
from .config import ConfigurationError, Settings
from .db import Base

log = logging.getLogger(__name__)

MICROSECONDS = 1_000_000


class RateLimitExceeded(TooManyRequests):
    """A client sent more than its limit; it may send again in ``retry_after`` seconds (a whole number, ≥ 1).

    Werkzeug's 429, so that both error handlers already in place render it with its ``Retry-After``:
    the SCIM blueprint's as a SCIM error, the admin API's as ``{"error", "detail"}``.
    """

    def __init__(self, client: str, retry_after: int) -> None:
        super().__init__(
            f"client {client!r} is over its rate limit; retry after {retry_after} s", retry_after=retry_after
        )
        self.client = client


class BackendUnavailable(Exception):
    """The shared store of the limits cannot be reached (Redis down): the request is let through."""


class Backend(Protocol):
    def hit(self, client: str, now: int, interval: int, tolerance: int) -> int:
        """Count one request of ``client`` at ``now``; return 0 when admitted, else the microseconds to wait.

        ``interval`` is the time one request uses up, ``tolerance`` how far ahead of now (``burst``
        intervals) the client's theoretical arrival time may run; all in microseconds.
        """
        ...


class RateLimitRow(Base):
    """One client's bucket: its theoretical arrival time, and whether its last request was refused."""

    __tablename__ = "scim_rate_limit"

    client: Mapped[str] = mapped_column(String(128), primary_key=True)
    tat: Mapped[int] = mapped_column(BigInteger)
    blocked: Mapped[bool] = mapped_column(Boolean)


class DatabaseBackend:
    """The buckets in ``scim_rate_limit``, one UPSERT per request, on SQLite and PostgreSQL alike.

    ``INSERT … ON CONFLICT (client) DO UPDATE … RETURNING`` moves the bucket when
    the request is admitted and leaves it when it is not, atomically on both
    databases; ``blocked`` tells the caller which, since the returned time alone
    cannot. It runs outside any transaction (autocommit), so it holds no lock
    beyond its own statement.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        table = cast(Table, RateLimitRow.__table__)
        now = bindparam("now", type_=BigInteger)
        interval = bindparam("interval", type_=BigInteger)
        tolerance = bindparam("tolerance", type_=BigInteger)
        start = case((table.c.tat > now, table.c.tat), else_=now)
        admitted = start + interval - now <= tolerance
        insert = (pg_insert if engine.dialect.name == "postgresql" else sqlite_insert)(table)
        self.statement = (
            insert.values(client=bindparam("client"), tat=now + interval, blocked=False)
            .on_conflict_do_update(
                index_elements=[table.c.client],
                set_={"tat": case((admitted, start + interval), else_=table.c.tat), "blocked": ~admitted},
            )
            .returning(table.c.tat, table.c.blocked)
        )

    def hit(self, client: str, now: int, interval: int, tolerance: int) -> int:
        parameters = {"client": client, "now": now, "interval": interval, "tolerance": tolerance}
        with self.engine.connect() as connection:
            tat, blocked = connection.execute(self.statement, parameters).one()
            connection.commit()  # a no-op in autocommit, which is what ``engine`` should be; a commit otherwise
        return max(1, tat + interval - now - tolerance) if blocked else 0


REDIS_SCRIPT = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + interval
if next_tat - now > tolerance then
    return next_tat - now - tolerance
end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return 0
"""
"""GCRA in one round trip: Redis runs a script atomically. The key expires when the bucket is full again."""


class RedisBackend:
    """The buckets in Redis, under ``scim:ratelimit:<client>``, for deployments that already run one.

    Short timeouts: a Redis that does not answer must not hold requests up,
    and the limiter lets them through when it cannot reach it.
    """

    PREFIX = "scim:ratelimit:"

    def __init__(self, url: str, timeout: float = 0.5) -> None:
        try:
            import redis
        except ImportError as exception:  # an optional dependency
            raise ConfigurationError(
                "SCIM_REDIS_URL: the redis package is missing; install scim-server[redis]"
            ) from exception
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        self.client: Any = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.script = self.client.register_script(REDIS_SCRIPT)

    def hit(self, client: str, now: int, interval: int, tolerance: int) -> int:
        try:
            return int(self.script(keys=[self.PREFIX + client], args=[now, interval, tolerance]))
        except self._errors as exception:
            raise BackendUnavailable(str(exception)) from exception

    def close(self) -> None:
        self.client.close()


@dataclass
class RateLimiter:
    """``rate`` requests per second per client, ``burst`` at once, counted in ``backend``."""

    backend: Backend
    rate: float
    burst: int
    clock: Callable[[], float] = time.time
    """Seconds since the epoch; the tests move it instead of sleeping."""

    interval: int = field(init=False)
    tolerance: int = field(init=False)
    _warned: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.interval = max(1, round(MICROSECONDS / self.rate))
        self.tolerance = self.burst * self.interval

    def check(self, client: str) -> None:
        """Count one request of ``client``; raise ``RateLimitExceeded`` when it is over its limit."""
        try:
            wait = self.backend.hit(client, int(self.clock() * MICROSECONDS), self.interval, self.tolerance)
        except BackendUnavailable as exception:
            self._unavailable(exception)
            return
        if wait > 0:
            raise RateLimitExceeded(client, max(1, math.ceil(wait / MICROSECONDS)))

    def _unavailable(self, exception: BackendUnavailable) -> None:
        """Fail open: a rate limiter's outage must not become the provisioning service's. Warn once a minute."""
        metrics.instruments().rate_limit_failures.inc()
        now = time.monotonic()
        if now - self._warned >= 60:
            self._warned = now
            log.warning("rate limits not enforced: their store is unavailable (%s)", exception)


def make_limiter(settings: Settings, engine: Engine) -> RateLimiter | None:
    """The limiter the settings ask for, or None when ``rate_limit`` is 0.

    ``engine`` must run statements without a transaction (``db.single_reads``):
    the UPSERT is the whole of its transaction.
    """
    if not settings.rate_limit:
        return None
    backend: Backend = RedisBackend(settings.redis_url) if settings.redis_url else DatabaseBackend(engine)
    return RateLimiter(backend, settings.rate_limit, settings.rate_limit_burst)
