"""Crash safety: a server SIGKILLed in the middle of a request leaves all of it or none of it.

Two ``scim-server serve`` processes share one fresh database. The victim runs
with the test-only hook ``SCIM_TEST_SLOW_WRITES`` (``scim_server.testhooks``):
every write inside a transaction sleeps a little and reports itself, so the
test can kill the victim's whole process group with SIGKILL after a chosen
number of writes of a /Bulk request or of a cascade, before it commits. The
survivor then reads everything back at once (a killed process's transaction
holds no lock) and checks that none of the request is there, that every user
agrees with its credentials and events (``invariants``), and that the
client's retry applies it exactly once. Then the victim is started again on
the same database for the next crash.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.reliability.conftest import (
    BULK,
    CREDENTIAL,
    LIFECYCLE,
    USER,
    Http,
    Response,
    Server,
    create_token,
    server_env,
)
from tests.reliability.invariants import snapshot, violations

WRITE = re.compile(r"scim-server test hook: write (\d+) pid")
TYPES = ("card", "temporaryCard", "virtualSmartCard", "mobileId", "softToken")


@dataclass
class CrashSite:
    victim: Server
    survivor: Server
    token: str
    database_url: str
    crashes: int = 0

    @property
    def http(self) -> Http:
        """The restarted victim: what a client reads after the crash."""
        return self.victim.client(self.token)

    @property
    def other(self) -> Http:
        """The process that was not killed."""
        return self.survivor.client(self.token)

    def crash_during(self, send: Callable[[Http], Response], at_write: int, slow: float) -> None:
        """Send a request to the victim, running with slow writes, SIGKILL it once the request has made
        ``at_write`` writes in its transaction, and start it again on the same database. The request must
        not have been answered."""
        hook = {"SCIM_TEST_SLOW_WRITES": str(slow)}
        if self.victim.extra_env != hook or self.victim.process is None:
            self.victim.stop()
            self.victim.start(**hook)
        offset = len(self.victim.log())
        outcome: dict[str, Any] = {}

        def client() -> None:
            try:
                outcome["answer"] = send(self.victim.client(self.token))
            except OSError as exception:  # the connection dies with the server
                outcome["error"] = exception

        thread = threading.Thread(target=client)
        thread.start()
        deadline = time.monotonic() + 120
        while True:
            written = [int(n) for n in WRITE.findall(self.victim.log()[offset:])]
            if written and max(written) >= at_write:
                break
            assert thread.is_alive() and time.monotonic() < deadline, (outcome, self.victim.log()[-3000:])
            time.sleep(0.005)
        self.victim.kill()
        thread.join(timeout=60)
        assert "error" in outcome, f"the request finished before the kill: {outcome}"
        self.crashes += 1
        self.victim.start(**hook)  # reads are what follow; its next write is the next crash

    def orphans(self) -> int:
        """Index and membership rows whose resource is gone: a partial write would leave them."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return sum(
                    connection.execute(
                        text(
                            f"SELECT count(*) FROM {table} t LEFT JOIN scim_resource r ON r.pk = t.{column} "
                            "WHERE r.pk IS NULL"
                        )
                    ).scalar_one()
                    for table, column in (("scim_value", "resource_pk"), ("scim_member", "member_pk"))
                )
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def site(fresh_database: Callable[[str], str], servers: Callable[..., Server]) -> Iterator[CrashSite]:
    url = fresh_database("crash")
    env = server_env(url)
    token = create_token(env)
    victim, survivor = servers(env, workers=2), servers(env, workers=2)
    victim.launch()
    survivor.launch()
    victim.wait_ready()
    survivor.wait_ready()
    site = CrashSite(victim, survivor, token, url)
    yield site
    print(f"crashes survived: {site.crashes}")
    victim.interrupt()
    survivor.interrupt()
    victim.stop()
    survivor.stop()


def bulk_of_users_and_credentials(prefix: str, users: int) -> dict[str, Any]:
    """``users`` users, each with a card created in the same request through its bulkId: 2 × users operations."""
    operations: list[dict[str, Any]] = []
    for i in range(users):
        operations.append(
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"u{i}",
                "data": {"schemas": [USER], "userName": f"{prefix}{i}"},
            }
        )
        operations.append(card_creation(i, f"{prefix}{i}", f"bulkId:u{i}", [f"{prefix}{i}-cert"]))
    return {"schemas": [BULK], "Operations": operations}


def card_creation(i: int, serial: str, holder: str, certificates: list[str]) -> dict[str, Any]:
    """The bulk operation creating the i-th credential, active, with valid certificates."""
    return {
        "method": "POST",
        "path": "/Credentials",
        "bulkId": f"c{i}",
        "data": {
            "schemas": [CREDENTIAL],
            "type": TYPES[i % len(TYPES)],
            "state": "active",
            "serialNumber": serial,
            "user": {"value": holder},
            "certificates": [{"serialNumber": number, "state": "valid"} for number in certificates],
        },
    }


BULK_USERS = 500
"""A /Bulk of 1,000 operations: 500 users and a credential for each."""


def test_a_server_killed_mid_bulk_keeps_none_of_it_and_the_retry_applies_all(site: CrashSite) -> None:
    """One /Bulk of 1,000 operations, killed three times (after its 1st, 300th and 700th write) and
    retried by the client each time; the last retry, to the other process, applies all of it."""
    http = site.http
    prefix = "bulk-"
    body = bulk_of_users_and_credentials(prefix, BULK_USERS)
    for at_write in (1, 300, 700):
        site.crash_during(lambda victim: victim.post("/Bulk", body), at_write, slow=0.002)

        assert http.all("/Users", f'userName sw "{prefix}"') == []
        assert http.all("/Credentials", f'serialNumber sw "{prefix}"') == []
        assert site.orphans() == 0
        assert violations(http) == []

    answer = site.other.post("/Bulk", body).ok()
    assert [int(op["status"]) for op in answer["Operations"]] == [201] * 2 * BULK_USERS
    assert len(http.all("/Users", f'userName sw "{prefix}"')) == BULK_USERS
    credentials = http.all("/Credentials", f'serialNumber sw "{prefix}"')
    assert len(credentials) == BULK_USERS
    assert all(c["user"]["display"].startswith(prefix) for c in credentials)
    assert violations(http) == []


DEACTIVATE = {"active": False, f"{LIFECYCLE}:reason": "parentalLeave"}
REACTIVATE = {"active": True}
CREDENTIALS = 60


def test_a_server_killed_mid_cascade_leaves_the_user_and_its_credentials_agreeing(site: CrashSite) -> None:
    """A user with 60 credentials (two certificates each) is deactivated, then reactivated; each
    transition is first killed twice mid-cascade (after the first credential write, and after half of
    them), then completed by the retry. After each kill nothing at all has changed; after each retry
    the cascade is applied once."""
    http = site.http
    user = http.post("/Users", {"schemas": [USER], "userName": "cascaded"}).ok(201)
    operations = [
        card_creation(i, f"cascaded-{i}", user["id"], [f"cascaded-{i}-auth", f"cascaded-{i}-sign"])
        for i in range(CREDENTIALS)
    ]
    http.post("/Bulk", {"schemas": [BULK], "Operations": operations}).ok()
    path = f"/Users/{user['id']}"

    for value, state, moved in ((DEACTIVATE, "deactivated", CREDENTIALS), (REACTIVATE, "active", 48)):
        for at_write in (1, 30):
            before = snapshot(http)

            site.crash_during(
                lambda victim, value=value: victim.patch(path, [{"op": "replace", "value": value}]), at_write, 0.03
            )

            assert snapshot(http) == before  # nothing of the killed request: no credential, event, version
            assert violations(http, before) == []

        events = len(http.all("/LifecycleEvents", f'user.value eq "{user["id"]}"'))
        answer = site.other.patch(path, [{"op": "replace", "value": value}]).ok()  # the retry, to the survivor
        assert answer[LIFECYCLE]["state"] == state
        recorded = http.all("/LifecycleEvents", f'user.value eq "{user["id"]}"')
        assert len(recorded) == events + 1
        assert len(recorded[-1]["credentials"]) == moved  # the temporary cards stay locked on reactivation
        assert violations(http) == []
    assert site.orphans() == 0


def test_the_invariant_checker_sees_what_a_partial_cascade_would_leave() -> None:
    """The checker the crash tests rely on is not vacuous: each contradiction a half-applied or doubled
    cascade would leave is reported."""

    def user(state: str, **more: Any) -> dict[str, Any]:
        return {"id": "u", "userName": "u", "active": state == "active", LIFECYCLE: {"state": state}, **more}

    def credential(key: str, state: str, created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
        return {
            "id": key,
            "state": state,
            "user": {"value": "u"},
            "meta": {"created": created},
            "certificates": [{"serialNumber": f"{key}-cert", "state": "valid" if state == "active" else "onHold"}],
        }

    def event(action: str, state_from: str, state_to: str, moved: list[str], at: str) -> dict[str, Any]:
        back = action == "reactivate"
        return {
            "id": f"{action}-{at}",
            "user": {"value": "u"},
            "action": action,
            "stateFrom": state_from,
            "stateTo": state_to,
            "occurred": at,
            "meta": {"created": at},
            "credentials": [
                {"value": k, "from": "inactive" if back else "active", "to": "active" if back else "inactive"}
                for k in moved
            ],
            "certificates": [
                {
                    "credential": k,
                    "serialNumber": f"{k}-cert",
                    "from": "onHold" if back else "valid",
                    "to": "valid" if back else "onHold",
                }
                for k in moved
            ],
        }

    deactivated = event("deactivate", "active", "deactivated", ["a", "b"], "2026-02-01T00:00:00Z")
    reactivated = event("reactivate", "deactivated", "active", ["a", "b"], "2026-03-01T00:00:00Z")

    def check(*, users: list[Any], credentials: list[Any], events: list[Any]) -> list[str]:
        return violations(Http(0, None), {"users": users, "credentials": credentials, "events": events})

    def assert_found(**held: Any) -> None:
        found = check(**held)
        print(found)
        assert found

    whole = {"credentials": [credential("a", "inactive"), credential("b", "inactive")], "events": [deactivated]}
    assert check(users=[user("deactivated")], **whole) == []
    assert_found(users=[user("active")], **whole)  # the user row lost, its cascade kept
    assert_found(  # the cascade half applied
        users=[user("deactivated")],
        credentials=[credential("a", "inactive"), credential("b", "active")],
        events=[event("deactivate", "active", "deactivated", ["a"], "2026-02-01T00:00:00Z")],
    )
    assert_found(  # the credentials moved, no event says so
        users=[user("deactivated")],
        credentials=whole["credentials"],
        events=[event("deactivate", "active", "deactivated", [], "2026-02-01T00:00:00Z")],
    )
    assert_found(  # the cascade applied twice
        users=[user("deactivated")],
        credentials=whole["credentials"],
        events=[deactivated, event("deactivate", "deactivated", "deactivated", [], "2026-02-02T00:00:00Z")],
    )
    assert_found(  # reactivated, but the holds not released
        users=[user("active")],
        credentials=whole["credentials"],
        events=[deactivated, event("reactivate", "deactivated", "active", [], "2026-03-01T00:00:00Z")],
    )
    assert_found(  # events out of order
        users=[user("active")],
        credentials=[credential("a", "active"), credential("b", "active")],
        events=[deactivated, {**reactivated, "occurred": "2026-01-15T00:00:00Z"}],
    )
    assert (
        check(
            users=[user("active")],
            credentials=[credential("a", "active"), credential("b", "active")],
            events=[deactivated, reactivated],
        )
        == []
    )
    assert_found(users=[{**user("active"), "active": False}], credentials=[], events=[])
