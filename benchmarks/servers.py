"""Starting and stopping what the benchmark measures: a fresh database, the server and the ceiling.

Both processes get the same gunicorn settings and the same access-log treatment
(on, to /dev/null), so that the ratio compares the apps and nothing else. Each
runs in its own session so that stopping it takes its workers too; the caller
stops them in a ``finally`` so nothing is left behind on error or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Gunicorn:
    """The options both servers get; the rest (worker class, access log, timeouts) follows from them."""

    workers: int
    threads: int
    timeout: int = 120

    def options(self) -> list[str]:
        return ["--workers", str(self.workers), "--threads", str(self.threads), "--timeout", str(self.timeout)]

    def describe(self) -> dict[str, Any]:
        return asdict(self) | {
            "worker_class": "gthread" if self.threads > 1 else "sync",
            "accesslog": "- (to /dev/null)",
            "graceful_timeout": 10,
        }


class Database:
    """A fresh database for one run: a temporary SQLite file, or a PostgreSQL database dropped and recreated."""

    def __init__(self, kind: str, postgres_admin_url: str, postgres_name: str, keep: bool = False) -> None:
        self.kind, self.admin_url, self.name, self.keep = kind, postgres_admin_url, postgres_name, keep
        self.directory = Path(tempfile.mkdtemp(prefix="scim-bench-"))
        if kind == "sqlite":
            self.url = f"sqlite:///{self.directory / 'scim.db'}"
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{postgres_name}" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{postgres_name}"')
            base = postgres_admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            self.url = f"{base}/{postgres_name}"

    def _admin(self, statement: str) -> Any:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchone() if cursor.description else None

    def analyze(self) -> None:
        """Fresh planner statistics after the bulk load, as autovacuum leaves them a minute later: without
        them PostgreSQL plans the first minutes of queries for the empty tables it last saw."""
        if self.kind != "postgresql":
            return
        import psycopg

        url = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("ANALYZE")

    def version(self) -> str:
        if self.kind == "sqlite":
            import sqlite3

            return f"SQLite {sqlite3.sqlite_version}"
        return str(self._admin("SELECT version()")[0]).split(" on ")[0]

    def drop(self) -> None:
        if self.kind == "postgresql" and not self.keep:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.directory, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Process:
    """One gunicorn master (and its workers) that we started."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.name, self.port, self.log = name, port, log
        with open(log, "wb") as errors:
            self.popen = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True
            )

    def wait_healthy(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /healthz within {seconds:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def worker_rss_mib(self) -> list[float]:
        """VmRSS of each worker (the master's children), in MiB."""
        import psutil

        return sorted(round(child.memory_info().rss / 2**20, 1) for child in psutil.Process(self.popen.pid).children())

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)  # gunicorn: graceful stop of the workers, then the master
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        with contextlib.suppress(ProcessLookupError):  # a worker that outlived its master
            os.killpg(self.popen.pid, signal.SIGKILL)


def server_env(database_url: str, policy_file: Path) -> dict[str, str]:
    """The environment without inherited SCIM_* settings, plus the benchmark's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCIM_")}
    return env | {
        "SCIM_DATABASE_URL": database_url,
        "SCIM_LOG_LEVEL": "WARNING",
        "SCIM_POLICY_FILE": str(policy_file),
        "SCIM_MAX_PAYLOAD_SIZE": str(16 * 2**20),  # a /Bulk of 1,000 users with room to spare
    }


def create_token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(BIN / "scim-server"), "tokens", "create", "bench", "--scope", "read", "--scope", "write"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"scim-server tokens create failed:\n{done.stderr}")
    return done.stdout.strip()


def start_server(env: dict[str, str], gunicorn: Gunicorn, logs: Path) -> Process:
    port = free_port()
    command = [str(BIN / "scim-server"), "serve", "--host", "127.0.0.1", "--port", str(port), *gunicorn.options()]
    return Process("scim-server", command, env, port, logs / "server.log")


def start_ceiling(gunicorn: Gunicorn, logs: Path) -> Process:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "benchmarks.ceiling",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *gunicorn.options(),
    ]
    return Process("ceiling", command, dict(os.environ), port, logs / "ceiling.log")
