"""Real server processes for the reliability tests: ``scim-server serve`` on a database of their own.

``fresh_database`` makes a database of the kind the suite runs on (PostgreSQL
when ``SCIM_TEST_DATABASE_URL`` names one — a sibling database on the same
server, created here and dropped when the session ends — else a SQLite file);
``Server`` is one ``scim-server serve`` process group (the gunicorn master and
its workers) that a test can start, SIGKILL and start again; ``Http`` is a
SCIM client over real HTTP, with nothing but the standard library, safe to
share between threads.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SCIM_SERVER = Path(sys.executable).with_name("scim-server")
SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIFECYCLE = "urn:scim-server:schemas:extension:lifecycle:2.0:User"
CREDENTIAL = "urn:scim-server:schemas:2.0:Credential"


def suite_database_url() -> str | None:
    return os.environ.get("SCIM_TEST_DATABASE_URL") or None


def on_postgresql() -> bool:
    return (suite_database_url() or "").startswith("postgresql")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any

    def ok(self, status: int = 200) -> Any:
        assert self.status == status, (self.status, self.body)
        return self.body


class Http:
    """A SCIM client of one server over real HTTP: a fresh connection per request (gunicorn's sync workers
    close them anyway), so one instance serves any number of threads."""

    def __init__(self, port: int, token: str | None, timeout: float = 120) -> None:
        self.port = port
        self.token = token
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Response:
        all_headers = {"Accept": SCIM, "Connection": "close"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = SCIM
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            prefix = "" if path.startswith("/healthz") or path.startswith("/readyz") else "/scim/v2"
            connection.request(method, prefix + path, body=payload, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return Response(
            response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(data) if data else None
        )

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Response:
        return self.request("POST", path, body, **kwargs)

    def patch(self, path: str, operations: list[dict[str, Any]], **kwargs: Any) -> Response:
        return self.request("PATCH", path, {"schemas": [PATCH_OP], "Operations": operations}, **kwargs)

    def all(self, path: str, scim_filter: str | None = None) -> list[dict[str, Any]]:
        """Every resource at an endpoint (a filter optional), page by page, in creation order."""
        found: list[dict[str, Any]] = []
        while True:
            query = f"?sortBy=meta.created&count=1000&startIndex={len(found) + 1}"
            if scim_filter:
                query += "&filter=" + _quote(scim_filter)
            page = self.get(path + query).ok()
            found.extend(page.get("Resources", []))
            if len(found) >= page["totalResults"] or not page.get("Resources"):
                return found


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


@dataclass
class Server:
    """One ``scim-server serve`` process group: the gunicorn master and its workers."""

    env: dict[str, str]
    log_path: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def launch(self, **extra_env: str) -> None:
        """Start the process (without waiting for it to answer); ``extra_env`` holds for this run only."""
        assert self.process is None or self.process.poll() is not None
        self.extra_env = extra_env
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [SCIM_SERVER, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
                env={**self.env, **extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so that a kill takes the workers too
            )

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                if Http(self.port, None, timeout=2).get("/readyz").status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{self.log()[-4000:]}")
            time.sleep(0.05)

    def start(self, **extra_env: str) -> None:
        self.launch(**extra_env)
        self.wait_ready()

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: no request finishes, no transaction commits."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def interrupt(self) -> None:
        """Ask for a quick shutdown (SIGINT: gunicorn stops its workers at once) without waiting for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def stop(self) -> None:
        """Quick shutdown, SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.interrupt()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(ProcessLookupError):  # a worker the master left behind, if any
            os.killpg(self.process.pid, signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, token: str | None) -> Http:
        return Http(self.port, token)


def _admin_engine(url: str) -> Any:
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _drop_postgres(url: str) -> None:
    admin = _admin_engine(url)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def fresh_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """``fresh_database(name)``: the URL of an empty database named after the suite's with ``_name`` appended
    (PostgreSQL), or a new SQLite file. The PostgreSQL ones are dropped when the session ends."""
    created: list[str] = []

    def make(name: str) -> str:
        suite = suite_database_url()
        if suite is None or not suite.startswith("postgresql"):
            return f"sqlite:///{tmp_path_factory.mktemp(name) / 'scim.db'}"
        url = make_url(suite)
        url = url.set(database=f"{url.database}_{name}").render_as_string(hide_password=False)
        _drop_postgres(url)
        admin = _admin_engine(url)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
        admin.dispose()
        created.append(url)
        return url

    yield make
    for url in created:
        _drop_postgres(url)


def server_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCIM_")}
    return {**env, "SCIM_DATABASE_URL": database_url, "SCIM_LOG_LEVEL": "WARNING", **settings}


def create_token(env: dict[str, str], name: str = "reliability", scopes: tuple[str, ...] = ("read", "write")) -> str:
    """A token (read/write unless told), made by the command line (which also migrates a fresh database)."""
    return subprocess.run(
        [SCIM_SERVER, "tokens", "create", name, *(f"--scope={scope}" for scope in scopes)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """``servers(env)``: a new, not yet started ``Server``; every one is stopped when the session ends."""
    started: list[Server] = []

    def make(env: dict[str, str], workers: int = 2) -> Server:
        log = tmp_path_factory.mktemp("server") / "server.log"
        server = Server(env, log, workers=workers)
        started.append(server)
        return server

    yield make
    for server in started:
        server.interrupt()
    for server in started:
        server.stop()
