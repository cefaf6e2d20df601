"""Two independent public conformance checkers against a real ``scim-server serve`` process.

The server runs as operators run it — gunicorn workers on a loopback port,
over a fresh database of the kind the suite runs on — and the checkers talk
to it over HTTP. A failing check fails the test unless it is one of
``WRONG_CHECKS``: checks this server deliberately answers otherwise, each
listed in the README with the RFC text that justifies it. A wrong check that
starts passing fails the test too, so the list cannot go stale.
"""

from __future__ import annotations

import datetime
import json
import os
import random
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
from scim2_tester import Status, check_server, filling
from scim2_tester.checkers import patch_add, patch_replace
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.conformance

BIN = Path(sys.executable).parent
FAILING = {Status.ERROR, Status.DEVIATION}

DATETIME = "Input should be a valid datetime"
READ_ONLY = "/LifecycleEvents is read-only"
LIFECYCLE = "urn:scim-server:schemas:extension:lifecycle:2.0:User"
CRUD_CHECKS = (
    "object_creation",
    "object_query",
    "object_query_without_id",
    "object_query_with_attributes",
    "object_list_with_attributes",
    "search_with_attributes",
    "object_replacement",
    "object_deletion",
    "check_add_attribute",
    "check_remove_attribute",
    "check_replace_attribute",
)
READ_ONLY_EVENTS = {("LifecycleEvent", check, None): READ_ONLY for check in CRUD_CHECKS}
"""Every scim2-tester check writes to every resource type; /LifecycleEvents refuses writes with 405 (SPEC §1)."""

WRONG_TESTER_CHECKS: dict[tuple[str, str, str | None], str] = {
    **READ_ONLY_EVENTS,
    **{
        (kind, check, None): DATETIME
        for kind in ("User", "Credential")
        for check in CRUD_CHECKS[3:]
        if check != "object_deletion"
    },
}
"""scim2-tester 0.5 as published: besides the read-only events, every check that fills a dateTime attribute
(workRelationships.startDate, Credential.validFrom, certificates.notBefore…) fails inside scim2-tester, which
generates a random UUID for it and refuses to build its own request (RFC 7643 §2.3.5)."""

WRONG_TESTER_CHECKS_WITH_DATETIMES: dict[tuple[str, str, str | None], str] = {
    **READ_ONLY_EVENTS,
    ("Credential", "object_replacement", None): "mutability",
    ("Credential", "check_replace_attribute", "user"): "'value' is immutable",
    ("User", "check_add_attribute", LIFECYCLE): "returned unexpected value",
    ("User", "check_add_attribute", f"{LIFECYCLE}:workRelationships"): "returned unexpected value",
    ("User", "check_replace_attribute", LIFECYCLE): "returned unexpected value",
    ("User", "check_replace_attribute", f"{LIFECYCLE}:workRelationships"): "returned unexpected value",
    ("User", "check_remove_attribute", LIFECYCLE): "did not remove",
    ("User", "check_remove_attribute", "active"): "did not remove",
}
"""With valid dateTimes, the checks that remain fail on purpose (README, "Conformance"): a credential's holder
is immutable; the lifecycle extension carries read-only state the server sets; an add to a multi-valued
attribute appends (RFC 7644 §3.5.2.1); a work relationship's read-only ``status`` is derived from its dates;
core ``active`` is derived from the lifecycle state."""

CONFORMANCE_POLICY = "defaultRoles = []\n"
"""Default roles are values the server adds to every user by policy; a round-trip check of roles cannot expect
them, so the conformance server runs without (README, "Conformance")."""

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


def _run_scim2_tester(server: dict[str, str]) -> list[Any]:
    with httpx2.Client(
        base_url=server["url"], headers={"Authorization": f"Bearer {server['token']}"}, timeout=30
    ) as http:
        client = SyncSCIMClient(http)
        client.discover()
        return check_server(client)


def _fails_exactly(
    results: list[Any], expected: dict[tuple[str, str, str | None], str], *, by_path: bool
) -> Counter[str]:
    """Assert that the failing checks are exactly the expected ones, each failing for the documented reason."""

    def path(result: Any) -> str | None:
        return result.data.get("urn") if by_path and isinstance(result.data, dict) else None

    counts = Counter(result.status.name for result in results)
    print(f"scim2-tester: {dict(counts)}")
    failures = {(str(r.resource_type), r.title, path(r)): r.reason or "" for r in results if r.status in FAILING}
    assert set(failures) == set(expected), failures
    for key, reason in failures.items():
        assert expected[key] in reason, (key, reason)
    return counts


def test_scim2_tester_fails_only_the_wrong_checks(server: dict[str, str]) -> None:
    results = _run_scim2_tester(server)

    counts = _fails_exactly(results, WRONG_TESTER_CHECKS, by_path=False)
    assert counts["SUCCESS"] >= 58


def test_scim2_tester_with_valid_datetimes_fails_only_the_wrong_checks(
    server: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """scim2-tester's dateTime generator fixed, so that the checks it aborts reach the server.

    A generated ``terminationDate`` falls after any generated ``startDate``: the server refuses a
    relationship that ends before it starts (400) and applies a termination whose date has passed, so
    random dates would make the failing set change from run to run.
    """
    original = filling.generate_random_value

    def with_datetimes(context: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        binding = path.resolve()
        if binding is not None and binding.target_type is datetime.datetime:
            year = 2031 if str(path).lower().endswith("terminationdate") else 2026
            moment = datetime.datetime(year, 1, 2, 3, 4, 5, tzinfo=datetime.UTC) + datetime.timedelta(
                days=random.randrange(900)
            )
            return [moment] if binding.target_is_multivalued else moment
        return original(context, path, *args, **kwargs)

    for module in (filling, patch_add, patch_replace):
        monkeypatch.setattr(module, "generate_random_value", with_datetimes)
    results = _run_scim2_tester(server)

    counts = _fails_exactly(results, WRONG_TESTER_CHECKS_WITH_DATETIMES, by_path=True)
    assert counts["SUCCESS"] >= 175  # some checks are drawn at random


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
