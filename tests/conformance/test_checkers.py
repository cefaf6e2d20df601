"""Two independent public conformance checkers against a real ``scim-server serve`` process.

The server runs as operators run it — gunicorn workers on a loopback port,
over a fresh database of the kind the suite runs on — and the checkers talk
to it over HTTP. A failing check fails the test unless it is one this server
deliberately answers otherwise (``scim_server.check.EXPECTED`` for
scim2-tester, ``WRONG_SANITY_CHECKS`` for scim-sanity), each listed in the
README with the RFC text that justifies it. A listed check that starts
passing fails the test too, so the lists cannot go stale.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from scim_server.check import CRUD_CHECKS, EXPECTED, Key, judge, run

pytestmark = pytest.mark.conformance

BIN = Path(sys.executable).parent

WRONG_AS_PUBLISHED: dict[Key, str] = {
    **{key: reason for key, reason in EXPECTED.items() if key[0] == "LifecycleEvent"},
    **{
        (kind, check, None): "Input should be a valid datetime"
        for kind in ("User", "Credential")
        for check in CRUD_CHECKS[3:]
        if check != "object_deletion"
    },
}
"""scim2-tester 0.5 as published: besides the read-only events, every check that fills a dateTime attribute
(workRelationships.startDate, Credential.validFrom, certificates.notBefore…) fails inside scim2-tester, which
generates a random UUID for it and refuses to build its own request (RFC 7643 §2.3.5). ``scim-server check``
fixes that generator; its own list of deliberate failures is ``scim_server.check.EXPECTED``."""

CONFORMANCE_POLICY = "defaultRoles = []\n"
"""Default roles are values the server adds to every user by policy; a round-trip check of roles cannot expect
them, so the conformance server runs without (README, "Conformance")."""

WRONG_SANITY_CHECKS = {
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


@pytest.fixture
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh server for each checker: one checker's leftovers must not change what another sees."""
    tmp_path = tmp_path_factory.mktemp("conformance")
    policy = tmp_path / "policy.toml"
    policy.write_text(CONFORMANCE_POLICY)
    env = {
        **os.environ,
        "SCIM_DATABASE_URL": _fresh_database(database_url, tmp_path),
        "SCIM_POLICY_FILE": str(policy),
        "SCIM_LOG_LEVEL": "WARNING",
    }
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


def test_scim2_tester_as_published_fails_only_the_wrong_checks(server: dict[str, str]) -> None:
    report = judge(run(server["url"], server["token"], fix_datetimes=False), WRONG_AS_PUBLISHED, by_path=False)

    print(f"scim2-tester: {dict(report.counts)}")
    assert report.unexpected == []
    assert {key for key, _ in report.expected} == set(WRONG_AS_PUBLISHED)
    assert report.counts["SUCCESS"] >= 58


def test_scim_server_check_fails_only_on_purpose(server: dict[str, str]) -> None:
    """The operators' command: scim2-tester with valid dateTimes, every deliberate failure listed and seen."""
    result = subprocess.run(
        [BIN / "scim-server", "check", server["url"], "--token", server["token"], "--verbose"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(EXPECTED)} fail on purpose" in result.stdout
    expected_lines = [line for line in result.stdout.splitlines() if line.strip().startswith("expected")]
    assert len(expected_lines) == len(EXPECTED)
    successes = re.search(r"(\d+) success", result.stdout)
    assert successes is not None and int(successes.group(1)) >= 175  # some checks are drawn at random


def test_scim_server_check_fails_when_the_server_refuses(server: dict[str, str]) -> None:
    result = subprocess.run(
        [BIN / "scim-server", "check", server["url"], "--token", "not-a-token", "--resource-type", "Group"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout and "unexpected failure" in result.stdout


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
    assert set(failed) == set(WRONG_SANITY_CHECKS), failed
    assert failed["PATCH /Groups/{id} add member"] == "Expected 200, got 400"
