"""Two independent public conformance checkers against a real ``scim-server serve`` process.

The server runs as operators run it — gunicorn workers on a loopback port,
over a fresh database of the kind the suite runs on — and the checkers talk
to it over HTTP. A failing check fails the test unless it is one of
``WRONG_CHECKS``: checks this server deliberately answers otherwise, each
listed in the README with the RFC text that justifies it. A wrong check that
starts passing fails the test too, so the list cannot go stale.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.conformance

BIN = Path(sys.executable).parent
FAILING = {Status.ERROR, Status.DEVIATION}

WRONG_CHECKS = {
    "PATCH /Groups/{id} add member": (
        "scim-sanity adds the member id 'fake-member-id', which names no resource, and expects 200. "
        "RFC 7643 §4.2: members' 'value' sub-attribute 'contains the value of an \"id\" attribute of a "
        "SCIM resource'; RFC 7644 §3.12: invalidValue when 'the value specified was not compatible "
        "with the operation or attribute type ... or resource schema'. This server answers 400 "
        "invalidValue and stores nothing, as its contract requires."
    ),
}
"""scim-sanity checks this server fails on purpose, by check name (README, "Conformance")."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fresh_database(database_url: str, tmp_path: Path) -> str:
    """A database of the same kind as the suite's, holding nothing yet."""
    if not database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'conformance.db'}"
    url = make_url(database_url).set(database=f"{make_url(database_url).database}_conformance")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp_path = tmp_path_factory.mktemp("conformance")
    env = {**os.environ, "SCIM_DATABASE_URL": _fresh_database(database_url, tmp_path), "SCIM_LOG_LEVEL": "WARNING"}
    token = subprocess.run(
        [BIN / "scim-server", "tokens", "create", "conformance", "--scope", "read", "--scope", "write"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [BIN / "scim-server", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(tmp_path / 'server.log').read_text()}")
            time.sleep(0.1)
        yield {"url": f"{base}/scim/v2", "token": token, "log": str(tmp_path / "server.log")}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_scim2_tester_reports_no_failure(server: dict[str, str]) -> None:
    with httpx2.Client(
        base_url=server["url"], headers={"Authorization": f"Bearer {server['token']}"}, timeout=30
    ) as http:
        client = SyncSCIMClient(http)
        client.discover()
        results = check_server(client)

    counts = Counter(result.status.name for result in results)
    failures = [f"{r.title}: {r.reason}" for r in results if r.status in FAILING]
    print(f"scim2-tester: {dict(counts)}")
    assert counts["SUCCESS"] > 100
    assert failures == []


def test_scim_sanity_probe_reports_no_failure(server: dict[str, str]) -> None:
    result = subprocess.run(
        [
            BIN / "scim-sanity",
            "probe",
            server["url"],
            "--token",
            server["token"],
            "--i-accept-side-effects",
            "--json-output",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    summary = report["summary"]
    print(f"scim-sanity: {summary}")
    failed = {r["name"]: r["message"] for r in report["results"] if r["status"].lower() in ("fail", "error")}
    assert summary["passed"] > 20
    assert set(failed) == set(WRONG_CHECKS), failed
    assert failed["PATCH /Groups/{id} add member"] == "Expected 200, got 400"
