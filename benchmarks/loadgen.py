"""A closed-loop HTTP/1.1 load generator on raw asyncio sockets.

Why hand-written: the benchmark machine also runs both servers, so every CPU
cycle the client spends is taken from them. A general client (httpx, aiohttp)
spends tens of microseconds per request building header objects and decoding
answers; here a request is prebuilt bytes and an answer is a status code, three
header look-ups and a body read by length. Each phase also reports the
generator's own CPU use, so a reader can check it was not the bottleneck.

Closed loop: C coroutines, each sending its next operation when the previous one
has been answered. An operation may be several requests (POST then DELETE);
latency is per operation and the rate counts operations.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

MAX_ERROR_SAMPLES = 5
T = TypeVar("T")


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class HTTPError(Exception):
    """An answer with status >= 400; the message holds the request line and the start of the answer."""

    def __init__(self, request: bytes, status: int, body: bytes) -> None:
        line = request[: request.find(b"\r\n")].decode("latin-1")
        super().__init__(f"{status} for {line}: {body[:300].decode('utf-8', 'replace')}")
        self.status = status


@dataclass(frozen=True)
class Target:
    """One server on loopback; builds the request bytes once so that sending costs nothing but a write."""

    host: str
    port: int
    token: str

    def request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nAccept: application/scim+json\r\n"
        )
        if body is None:
            return (head + "\r\n").encode()
        return (head + f"Content-Type: application/scim+json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


class Connection:
    """One keep-alive connection that reconnects when the server says ``Connection: close`` (gunicorn's sync
    worker says it on every answer) or drops an idle connection."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def call(self, request: bytes) -> Response:
        """Send one request and read its answer; raise HTTPError for status >= 400."""
        for _ in range(2):
            fresh = self.writer is None
            if self.reader is None or self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(
                    self.target.host, self.target.port, limit=1 << 20
                )
            reader, writer = self.reader, self.writer
            try:
                writer.write(request)
                if len(request) > 65536:
                    await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                self.close()
                if fresh:
                    raise
                # A reused connection that the server closed while idle: nothing was answered, retry once.
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            length = int(head[at + 17 : lower.find(b"\r\n", at + 2)])
            body = await reader.readexactly(length) if length else b""
        elif b"\r\ntransfer-encoding: chunked" in lower:
            body = await self._chunked(reader)
        elif status in (204, 304) or status < 200:
            body = b""
        else:
            body = await reader.read()  # delimited by the end of the connection
            self.close()
        if b"\r\nconnection: close" in lower:
            self.close()
        if status >= 400:
            raise HTTPError(request, status, body)
        return Response(status, body)

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)


Operation = Callable[[Connection], Awaitable[None]]
"""One unit of work: one or more requests on the coroutine's connection."""


@dataclass
class PhaseResult:
    """What one closed-loop run measured; latencies in milliseconds, CPU as a fraction of one core."""

    operations: int
    seconds: float
    ops_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    errors: int
    error_samples: list[str] = field(default_factory=list)
    generator_cpu: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _percentile(ordered: Sequence[int], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_closed_loop(
    target: Target, operations: Sequence[Operation], duration: float, warmup: float, grace: float = 150.0
) -> PhaseResult:
    """Run one coroutine per operation for ``warmup + duration`` seconds and measure the last ``duration``.

    The rate counts the operations that ended inside the measured window (so an operation slower than the
    warm-up still counts once), an error counts from the end of the warm-up on. Operations still running at
    the end are awaited (up to ``grace``: a server's worker timeout is 120 s), so that the server is idle
    again before the next measurement and a toggling phase leaves its users as it found them.
    """
    clock = time.perf_counter_ns
    begin = clock() + int(warmup * 1e9)
    end = begin + int(duration * 1e9)
    latencies: list[int] = []
    errors: list[str] = []
    cpu: list[float] = []

    async def worker(operation: Operation) -> None:
        connection = Connection(target)
        try:
            while (start := clock()) < end:
                try:
                    await operation(connection)
                except (HTTPError, OSError, asyncio.IncompleteReadError, ValueError) as exception:
                    connection.close()
                    if clock() >= begin:
                        errors.append(f"{type(exception).__name__}: {exception}")
                    continue
                stop = clock()
                if begin <= stop <= end:
                    latencies.append(stop - start)
        finally:
            connection.close()

    async def meter() -> None:
        """The generator's own CPU over the measured window: user + system seconds / wall seconds."""
        await asyncio.sleep(max(0.0, (begin - clock()) / 1e9))
        cpu_begin, wall_begin = _cpu_seconds(), clock()
        await asyncio.sleep(max(0.0, (end - clock()) / 1e9))
        cpu.append((_cpu_seconds() - cpu_begin) / ((clock() - wall_begin) / 1e9))

    tasks = [asyncio.ensure_future(worker(operation)) for operation in operations]
    await meter()
    done, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
        errors.append(f"TimeoutError: operation still running {grace:.0f} s after the end of the phase")
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()  # anything but a network or HTTP error is a bug of the benchmark: let it surface
    latencies.sort()
    return PhaseResult(
        operations=len(latencies),
        seconds=duration,
        ops_per_s=len(latencies) / duration,
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        p99_ms=_percentile(latencies, 0.99),
        errors=len(errors),
        error_samples=list(dict.fromkeys(errors))[:MAX_ERROR_SAMPLES],
        generator_cpu=cpu[0] if cpu else None,
    )


def event_loop() -> str:
    """uvloop when installed (the ``bench`` extra): it halves the generator's cost per connection."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    return f"uvloop {getattr(uvloop, '__version__', '')}".strip()


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run the generator's coroutine on the cheapest event loop available."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


async def call_all(target: Target, requests: Sequence[bytes], concurrency: int) -> list[Response]:
    """Send every request over ``concurrency`` connections and return the answers in request order
    (seeding: the first error stops everything, since the phases need every seeded resource)."""
    answers: list[Response | None] = [None] * len(requests)
    queue = iter(range(len(requests)))

    async def worker() -> None:
        connection = Connection(target)
        try:
            for index in queue:
                answers[index] = await connection.call(requests[index])
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(requests)))))
    return [answer for answer in answers if answer is not None]
