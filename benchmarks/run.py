"""``make bench``: seed a fresh server, then measure it phase by phase against the ceiling, side by side.

    python -m benchmarks.run --database sqlite --users 10000 --duration 10

Both apps run on loopback under the same gunicorn settings. For each phase and
concurrency the ceiling runs first, then the server, so both see the same
machine state; the ratio server/ceiling is what the targets are written in. The
load generator runs in this process and shares the machine's cores with both
servers: its own CPU use is reported per phase to show it is not the bottleneck.

Writes ``<out>/<database>-<N>users.json`` (``-<M>members`` appended when the
group sizes are not the default), the same table as markdown next to it, and
``<out>/ratios.png`` from every result file present.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import chart
from .loadgen import Response, Target, call_all, event_loop, run_closed_loop
from .loadgen import run as run_loop
from .people import (
    POLICY,
    bulk_create_credentials,
    bulk_create_users,
    bulk_terminate,
    group,
    patch,
    people,
)
from .phases import PHASES, RSS_TARGET_MIB, SEEDING_TARGET, TERMINATIONS_TARGET, Phase, World
from .report import markdown
from .servers import ROOT, Database, Gunicorn, Process, create_token, server_env, start_ceiling, start_server

BATCH = 1000
"""Users per /Bulk request when seeding, members per PATCH when growing the group, terminations per /Bulk."""
SPARE = 1000
"""Users kept outside the largest group, for member add/remove."""
TERMINATION_RUNS = 3


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    def integers(text: str) -> list[int]:
        return sorted({int(part) for part in text.split(",")})

    names = [phase.name for phase in PHASES] + ["bulk-terminations"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", type=int, default=10_000, help="users seeded (default 10,000)")
    parser.add_argument(
        "--group-members",
        type=integers,
        default=[5000],
        help="size(s) the large group grows to, comma-separated (default 5000; '5000,100000' measures the group "
        "phases at both). Users are topped up so that 1,000 stay outside the largest group.",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per phase (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each (default 2)")
    parser.add_argument("--concurrency", type=integers, default=[8, 32], help="default 8,32")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn workers of both apps (default 2: one per core of the 2-core machine this was written on)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker (default 1: the sync worker, scim-server serve's default; >1 is gthread)",
    )
    parser.add_argument("--seed-concurrency", type=int, default=2, help="/Bulk requests in flight when seeding")
    parser.add_argument(
        "--phases",
        type=lambda text: text.split(","),
        default=names,
        help=f"comma-separated subset of: {', '.join(names)} (seeding always runs)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="maintenance database, to drop and create the benchmark's",
    )
    parser.add_argument("--postgres-database", default="scim_bench")
    parser.add_argument("--keep-database", action="store_true", help="leave the PostgreSQL database for inspection")
    arguments = parser.parse_args(argv)
    unknown = set(arguments.phases) - set(names)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    return arguments


def bulk_ids(answer: Response, status: str) -> list[str]:
    """The ids a BulkResponse created, in order; any other status than expected stops the run."""
    ids = []
    for operation in json.loads(answer.body)["Operations"]:
        if operation.get("status") != status:
            raise RuntimeError(f"bulk operation answered {operation.get('status')}, not {status}: {operation}")
        ids.append(str(operation.get("location", "")).rsplit("/", 1)[-1])
    return ids


def chunks(items: Sequence[Any], size: int = BATCH) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class Bench:
    """One run: the two targets, the seeded world and the rows measured so far."""

    def __init__(
        self, arguments: argparse.Namespace, server: Process, ceiling: Process, token: str, database: Database
    ) -> None:
        self.arguments = arguments
        self.database = database
        self.server_process, self.ceiling_process = server, ceiling
        self.server = Target("127.0.0.1", server.port, token)
        self.ceiling = Target("127.0.0.1", ceiling.port, token)
        self.rows: list[dict[str, Any]] = []

    async def bulk(self, bodies: Sequence[bytes], status: str) -> tuple[list[str], float]:
        requests = [self.server.request("POST", "/scim/v2/Bulk", body) for body in bodies]
        started = time.perf_counter()
        answers = await call_all(self.server, requests, self.arguments.seed_concurrency)
        seconds = time.perf_counter() - started
        return [user_id for answer in answers for user_id in bulk_ids(answer, status)], seconds

    async def seed(self) -> tuple[World, dict[str, Any]]:
        """Users (timed: the seeding rate), a card for one user in ten, the large group at its first size."""
        arguments = self.arguments
        sizes = arguments.group_members
        persons = people(max(arguments.users, sizes[-1] + SPARE))
        log(f"seeding {len(persons):,} users")
        ids, seconds = await self.bulk([bulk_create_users(part) for part in chunks(persons)], "201")
        holders = list(range(0, arguments.users, 10))
        log(f"{len(ids) / seconds:,.0f} users/s; {len(holders):,} credentials")
        _, credential_seconds = await self.bulk(
            [bulk_create_credentials([ids[i] for i in part], part[0]) for part in chunks(holders)], "201"
        )
        created = await call_all(self.server, [self.server.request("POST", "/scim/v2/Groups", group("All staff"))], 1)
        world = World(persons, ids, holders, json.loads(created[0].body)["id"], 0, list(range(sizes[-1], len(ids))))
        seeding = {
            "users": len(ids),
            "seconds": seconds,
            "users_per_s": len(ids) / seconds,
            "concurrency": arguments.seed_concurrency,
            "target": SEEDING_TARGET,
            "met": len(ids) / seconds >= SEEDING_TARGET,
            "credentials": len(holders),
            "credentials_per_s": len(holders) / max(credential_seconds, 1e-9),
            "group_members_per_s": {},
        }
        seeding["group_members_per_s"][str(sizes[0])] = await self.grow(world, sizes[0])
        return world, seeding

    async def grow(self, world: World, size: int) -> float:
        """Add members by PATCH, 1,000 at a time, as a client that syncs a large group does; members/s."""
        log(f"growing the group to {size:,} members")
        path = f"/scim/v2/Groups/{world.group_id}?excludedAttributes=members"
        requests = [
            self.server.request(
                "PATCH", path, patch({"op": "add", "path": "members", "value": [{"value": world.ids[i]} for i in part]})
            )
            for part in chunks(range(world.group_size, size))
        ]
        started = time.perf_counter()
        await call_all(self.server, requests, 1)  # one group: concurrent PATCHes would only wait on each other
        added, world.group_size = size - world.group_size, size
        return added / max(time.perf_counter() - started, 1e-9)

    async def measure(self, phase: Phase, world: World, concurrency: int) -> None:
        """The ceiling, then the server, with the same requests."""
        arguments = self.arguments
        sides = {}
        for side, target in (("ceiling", self.ceiling), ("server", self.server)):
            operations = [
                phase.factory(world, target, random.Random(f"{phase.name}/{concurrency}/{worker}"), worker, concurrency)
                for worker in range(concurrency)
            ]
            sides[side] = (await run_closed_loop(target, operations, arguments.duration, arguments.warmup)).as_dict()
        ceiling, server = sides["ceiling"]["ops_per_s"], sides["server"]["ops_per_s"]
        ratio = server / ceiling if ceiling else None
        row = {
            "phase": phase.name,
            "title": phase.title,
            "group_members": world.group_size if phase.per_group_size else None,
            "concurrency": concurrency,
            "target": phase.target,
            "ratio": ratio,
            "met": None if phase.target is None else ratio is not None and ratio >= phase.target,
            "server": sides["server"],
            "ceiling": sides["ceiling"],
        }
        self.rows.append(row)
        log(
            f"{phase.name:<18} C={concurrency:<3} ceiling {ceiling:8.1f}/s  server {server:8.1f}/s"
            f"  ratio {ratio or 0:.3f}  errors {sides['server']['errors']}/{sides['ceiling']['errors']}"
            f"  generator CPU {sides['server']['generator_cpu'] or 0:.0%}/{sides['ceiling']['generator_cpu'] or 0:.0%}"
        )

    async def terminations(self) -> dict[str, Any]:
        """One /Bulk of 1,000 HR terminations, timed, on fresh users each time; the median of three."""
        times, samples = [], []
        for run in range(TERMINATION_RUNS):
            persons = people(BATCH, prefix=f"hr{run}.")
            ids, _ = await self.bulk([bulk_create_users(persons, relationship="E1")], "201")
            request = self.server.request("POST", "/scim/v2/Bulk", bulk_terminate(ids, "E1"))
            started = time.perf_counter()
            answer = (await call_all(self.server, [request], 1))[0]
            times.append(time.perf_counter() - started)
            failed = [op for op in json.loads(answer.body)["Operations"] if op.get("status") != "200"]
            samples += [json.dumps(op)[:400] for op in failed[:2]]
            log(f"/Bulk of {BATCH:,} terminations: {times[-1]:.2f} s, {len(failed)} failed")
        median = statistics.median(times)
        return {
            "seconds": times,
            "median_s": median,
            "target_s": TERMINATIONS_TARGET,
            "met": median < TERMINATIONS_TARGET and not samples,
            "error_samples": samples,
        }

    async def run(self) -> dict[str, Any]:
        arguments = self.arguments
        selected = [phase for phase in PHASES if phase.name in arguments.phases]
        world, seeding = await self.seed()
        self.database.analyze()
        rss_after_seeding = self.server_process.worker_rss_mib()
        for phase in selected:
            if not phase.per_group_size:
                for concurrency in arguments.concurrency:
                    await self.measure(phase, world, concurrency)
        for size in arguments.group_members if any(phase.per_group_size for phase in selected) else []:
            if size > world.group_size:
                seeding["group_members_per_s"][str(size)] = await self.grow(world, size)
                self.database.analyze()
            for phase in selected:
                if phase.per_group_size:
                    for concurrency in arguments.concurrency:
                        await self.measure(phase, world, concurrency)
        terminations = await self.terminations() if "bulk-terminations" in arguments.phases else None
        return {
            "seeding": seeding,
            "bulk_terminations": terminations,
            "rss_mib": {
                "after_seeding": rss_after_seeding,
                "at_end": self.server_process.worker_rss_mib(),
                "ceiling": self.ceiling_process.worker_rss_mib(),
                "target": RSS_TARGET_MIB,
                "met": max(rss_after_seeding) < RSS_TARGET_MIB,
            },
            "phases": self.rows,
        }


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def commit() -> str:
    """The server code measured: HEAD, marked dirty when the server's sources have uncommitted changes."""

    def git(*arguments: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *arguments], capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--", "scim_server", "resources", "extensions")
    return git("rev-parse", "--short", "HEAD") + ("-dirty" if dirty else "")


def result_stem(arguments: argparse.Namespace) -> str:
    stem = f"{arguments.database}-{arguments.users}users"
    return stem if arguments.group_members == [5000] else f"{stem}-{'-'.join(map(str, arguments.group_members))}members"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below: stop both servers
    gunicorn = Gunicorn(arguments.workers, arguments.threads)
    database = Database(
        arguments.database, arguments.postgres_url, arguments.postgres_database, arguments.keep_database
    )
    version = database.version()
    processes: list[Process] = []
    stem = result_stem(arguments)
    arguments.out.mkdir(parents=True, exist_ok=True)
    try:
        policy = database.directory / "policy.toml"
        policy.write_text(POLICY)
        env = server_env(database.url, policy)
        token = create_token(env)
        processes.append(start_server(env, gunicorn, database.directory))
        processes.append(start_ceiling(gunicorn, database.directory))
        for process in processes:
            process.wait_healthy()
        log(f"{arguments.database}: server on :{processes[0].port}, ceiling on :{processes[1].port}")
        started = datetime.now(UTC).isoformat(timespec="seconds")
        measured = run_loop(Bench(arguments, processes[0], processes[1], token, database).run())
    finally:
        for process in processes:
            process.stop()
        if processes and processes[0].log.exists():  # the server's warnings and tracebacks, for the errors
            (arguments.out / f"{stem}-server.log").write_bytes(processes[0].log.read_bytes())
        database.drop()
    result = {
        "database": arguments.database,
        "database_version": version,
        "users": arguments.users,
        "group_members": arguments.group_members,
        "duration": arguments.duration,
        "warmup": arguments.warmup,
        "concurrency": arguments.concurrency,
        "started": started,
        "commit": commit(),
        "machine": machine(),
        "gunicorn": gunicorn.describe(),
        "generator": {"event_loop": event_loop(), "process": "the benchmark's own, one thread"},
        "server_env": {"SCIM_LOG_LEVEL": "WARNING", "SCIM_MAX_PAYLOAD_SIZE": 16 * 2**20, "SCIM_POLICY_FILE": POLICY},
    } | measured
    (arguments.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (arguments.out / f"{stem}.md").write_text(table)
    print(table)
    chart.main([str(arguments.out)])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # both servers are already stopped
        sys.exit(130)
