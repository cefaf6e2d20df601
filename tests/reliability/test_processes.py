"""Several ``scim-server serve`` processes on one database, driven at once over real HTTP.

Two servers, two gunicorn workers each, share one fresh database; 32 client
threads alternate their requests between them. What one process writes,
another must neither lose nor contradict: stale ``If-Match`` writes get 412
and every other write lands; writes without ``If-Match`` serialise into one
order; concurrent member adds all stay; a cascade happens once per
transition; due terminations apply once while every worker's scheduler and
two ``run-due`` processes race for them (README, "Guarantees").
"""

from __future__ import annotations

import datetime
import itertools
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.reliability.conftest import (
    BULK,
    CREDENTIAL,
    GROUP,
    LIFECYCLE,
    SCIM_SERVER,
    USER,
    Http,
    Response,
    Server,
    create_token,
    on_postgresql,
    server_env,
)
from tests.reliability.invariants import violations

WRITERS = 32
RELATIONSHIPS = f"{LIFECYCLE}:workRelationships"
T = TypeVar("T")


@dataclass
class Cluster:
    servers: list[Server]
    token: str
    env: dict[str, str]

    def client(self, turn: int) -> Http:
        """The client of one of the servers: consecutive turns alternate between them."""
        return self.servers[turn % len(self.servers)].client(self.token)


@pytest.fixture(scope="module")
def cluster(fresh_database: Callable[[str], str], servers: Callable[..., Server]) -> Iterator[Cluster]:
    # Every worker runs the due-termination scheduler too, as a deployment may: it must race harmlessly.
    env = server_env(fresh_database("processes"), SCIM_SCHEDULER_INTERVAL="0.25")
    token = create_token(env)
    pair = [servers(env, workers=2), servers(env, workers=2)]
    for server in pair:
        server.launch()
    for server in pair:
        server.wait_ready()
    yield Cluster(pair, token, env)
    for server in pair:
        server.interrupt()
    for server in pair:
        server.stop()


def concurrently(count: int, work: Callable[[int], T]) -> list[T]:
    """``work(0)`` … ``work(count - 1)`` in as many threads at once; the first exception is raised."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(work, range(count)))


def version(resource: dict[str, Any] | Response) -> int:
    tag = resource.headers["etag"] if isinstance(resource, Response) else resource["meta"]["version"]
    assert tag.startswith('W/"'), tag
    return int(tag[3:-1])


def create_users(http: Http, prefix: str, count: int, **attributes: Any) -> list[dict[str, Any]]:
    """``count`` users in one /Bulk request."""
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"{prefix}{i}",
            "data": {"schemas": [USER], "userName": f"{prefix}{i}", **attributes},
        }
        for i in range(count)
    ]
    answer = http.post("/Bulk", {"schemas": [BULK], "Operations": operations}).ok()
    assert [int(op["status"]) for op in answer["Operations"]] == [201] * count, answer
    return [http.get(op["location"].split("/scim/v2", 1)[1]).ok() for op in answer["Operations"]]


def test_if_match_lets_exactly_one_racing_writer_through_and_loses_nothing(cluster: Cluster) -> None:
    """32 writers, 8 on each of 4 users, read the same version, then all PATCH it with If-Match.

    Per user and round exactly one write lands and the seven others get 412, whichever process took them.
    """
    users, rounds = 4, 5
    stored = create_users(cluster.client(0), "ifmatch", users, title="0")
    barrier = threading.Barrier(WRITERS)

    def writer(w: int) -> list[tuple[int, int, int]]:
        user = stored[w % users]
        outcomes = []
        for r in range(rounds):
            read = cluster.client(w + r).get(f"/Users/{user['id']}")
            count = int(read.ok()["title"])
            barrier.wait(timeout=120)
            response = cluster.client(w + r + 1).patch(
                f"/Users/{user['id']}",
                [{"op": "replace", "path": "title", "value": str(count + 1)}],
                headers={"If-Match": read.headers["etag"]},
            )
            assert response.status in (200, 412), (response.status, response.body)
            if response.status == 412:
                assert response.body["status"] == "412", response.body
            outcomes.append((r, w % users, response.status))
            barrier.wait(timeout=120)
        return outcomes

    outcomes = [o for per_writer in concurrently(WRITERS, writer) for o in per_writer]

    statuses = Counter(status for _, _, status in outcomes)
    assert statuses[200] + statuses[412] == WRITERS * rounds
    assert statuses == {200: users * rounds, 412: (WRITERS - users) * rounds}
    per_round = Counter((r, u) for r, u, status in outcomes if status == 200)
    assert set(per_round.values()) == {1} and len(per_round) == users * rounds
    for user in stored:
        final = cluster.client(1).get(f"/Users/{user['id']}").ok()
        assert final["title"] == str(rounds)  # every successful increment, none lost
        assert version(final) == version(user) + rounds


def test_if_match_retries_count_every_increment_exactly_once(cluster: Cluster) -> None:
    """Optimistic concurrency as a client does it: read, increment, write with If-Match, retry on 412."""
    users, increments = 4, 3
    stored = create_users(cluster.client(1), "counter", users, title="0")
    attempts: Counter[int] = Counter()

    def writer(w: int) -> Counter[int]:
        user = stored[w % users]
        statuses: Counter[int] = Counter()
        turn = w
        for _ in range(increments):
            while True:
                turn += 1
                read = cluster.client(turn).get(f"/Users/{user['id']}")
                response = cluster.client(turn + 1).patch(
                    f"/Users/{user['id']}",
                    [{"op": "replace", "path": "title", "value": str(int(read.ok()["title"]) + 1)}],
                    headers={"If-Match": read.headers["etag"]},
                )
                statuses[response.status] += 1
                if response.status == 200:
                    break
                assert response.status == 412, response.body
        return statuses

    for statuses in concurrently(WRITERS, writer):
        attempts.update(statuses)

    assert set(attempts) <= {200, 412}
    assert attempts[200] == WRITERS * increments
    for user in stored:
        final = cluster.client(0).get(f"/Users/{user['id']}").ok()
        assert final["title"] == str(WRITERS // users * increments)
        assert version(final) == version(user) + WRITERS // users * increments
    print(f"If-Match retry loop: {attempts[200]} increments, {attempts[412]} stale writes answered 412")


def test_writes_without_if_match_serialise_into_one_order(cluster: Cluster) -> None:
    """32 writers PATCH-add a distinct email and role to the same two users, 128 writes, no If-Match.

    Every write lands (no lost read-modify-write), each answer carries its own version, and the answers
    ordered by version are one serial history: each holds exactly one value more than the one before.
    """
    per_writer = 4
    stored = create_users(cluster.client(0), "serial", 2)

    def writer(w: int) -> list[tuple[str, str, dict[str, Any]]]:
        answers = []
        for k in range(per_writer):
            user = stored[(w + k) % 2]
            value = f"w{w}k{k}"
            answer = (
                cluster.client(w + k)
                .patch(
                    f"/Users/{user['id']}",
                    [
                        {"op": "add", "path": "emails", "value": [{"value": f"{value}@example.test", "type": "work"}]},
                        {"op": "add", "path": "roles", "value": [{"value": value}]},
                    ],
                )
                .ok()
            )
            answers.append((user["id"], value, answer))
        return answers

    answers = [a for per in concurrently(WRITERS, writer) for a in per]

    for user in stored:
        mine = sorted((a for a in answers if a[0] == user["id"]), key=lambda a: version(a[2]))
        written = {value for _, value, _ in mine}
        assert len(mine) == WRITERS * per_writer // 2
        assert [version(a) for _, _, a in mine] == list(range(version(user) + 1, version(user) + 1 + len(mine)))
        history: set[str] = set()
        for _, value, answer in mine:  # the serial order: each answer = the previous one + its own value
            emails = {e["value"].split("@")[0] for e in answer.get("emails", [])}
            roles = {r["value"] for r in answer.get("roles", []) if r.get("type") == "manual"}
            assert emails == roles == history | {value}
            history = emails
        final = cluster.client(1).get(f"/Users/{user['id']}").ok()
        assert {e["value"].split("@")[0] for e in final["emails"]} == written
        assert {r["value"] for r in final["roles"] if r["type"] == "manual"} == written
        assert version(final) == version(user) + len(mine)


def test_concurrent_member_adds_all_stay(cluster: Cluster) -> None:
    """32 threads add 128 members to one group, one PATCH each, across both processes, while 4 rename it."""
    per_writer = 4
    members = create_users(cluster.client(1), "member", WRITERS * per_writer)
    group = cluster.client(0).post("/Groups", {"schemas": [GROUP], "displayName": "everyone"}).ok(201)
    path = f"/Groups/{group['id']}?excludedAttributes=members"

    def writer(w: int) -> None:
        for k in range(per_writer):
            member = members[w * per_writer + k]["id"]
            http = cluster.client(w + k)
            if k % 2:  # both ways a client says it: a path, or a path-less value
                http.patch(path, [{"op": "add", "path": "members", "value": [{"value": member}]}]).ok()
            else:
                http.patch(path, [{"op": "add", "value": {"members": [{"value": member}]}}]).ok()
            if w < 4:
                http.patch(path, [{"op": "replace", "path": "displayName", "value": f"everyone {w}.{k}"}]).ok()

    concurrently(WRITERS, writer)

    final = cluster.client(1).get(f"/Groups/{group['id']}").ok()
    assert {m["value"] for m in final["members"]} == {m["id"] for m in members}
    assert version(final) == version(group) + WRITERS * per_writer + 4 * per_writer
    one = cluster.client(0).get(f"/Users/{members[-1]['id']}").ok()
    assert [g["value"] for g in one["groups"]] == [group["id"]]


DEACTIVATE = {"active": False, f"{LIFECYCLE}:reason": "parentalLeave"}
REACTIVATE = {"active": True}
REVERSIBLE = ("card", "mobileId", "virtualSmartCard", "softToken")


def make_credentials(http: Http, user_id: str, types: tuple[str, ...], prefix: str) -> list[dict[str, Any]]:
    return [
        http.post(
            "/Credentials",
            {
                "schemas": [CREDENTIAL],
                "type": kind,
                "state": "active",
                "serialNumber": f"{prefix}-{kind}",
                "user": {"value": user_id},
                "certificates": [{"serialNumber": f"{prefix}-{kind}-cert", "issuer": "CN=Test CA", "state": "valid"}],
            },
        ).ok(201)
        for kind in types
    ]


def test_racing_deactivations_and_reactivations_cascade_once_per_transition(cluster: Cluster) -> None:
    """32 threads each send 4 random deactivations (parentalLeave) or reactivations of one user with five
    credentials, alternating processes. Every effective transition is one event that moves every
    reversible credential once; repeats record nothing; the temporary card is locked once and stays."""
    http = cluster.client(0)
    user = create_users(http, "toggled", 1)[0]
    held = make_credentials(http, user["id"], (*REVERSIBLE, "temporaryCard"), "toggled")
    rng = random.Random(7)
    plans = [[rng.choice((DEACTIVATE, REACTIVATE)) for _ in range(4)] for _ in range(WRITERS)]

    def writer(w: int) -> list[tuple[bool, int]]:
        answers = []
        for k, value in enumerate(plans[w]):
            answer = cluster.client(w + k).patch(f"/Users/{user['id']}", [{"op": "replace", "value": value}]).ok()
            assert answer["active"] is value["active"]
            answers.append((value["active"], version(answer)))
        return answers

    answers = [a for per in concurrently(WRITERS, writer) for a in per]

    final = http.get(f"/Users/{user['id']}").ok()
    events = http.all("/LifecycleEvents", f'user.value eq "{user["id"]}"')
    transitions = [e["action"] for e in events]
    # Serialised: the new versions are exactly the transitions, each answered to the request that made it.
    created = {v for _, v in answers} - {version(user)}
    assert created == set(range(version(user) + 1, version(final) + 1))
    assert len(events) == len(created) == version(final) - version(user) > 0
    assert all(a != b for a, b in itertools.pairwise(transitions))  # alternate, never twice
    assert transitions[0] == "deactivate"
    assert final["active"] is (transitions[-1] == "reactivate")
    for event in events:
        moved = {m["type"] for m in event.get("credentials") or []}
        first = event is events[0]
        assert moved == set(REVERSIBLE) | ({"temporaryCard"} if first else set()), event
        assert len(event.get("certificates") or []) == len(moved), event
    for credential in held:
        now = http.get(f"/Credentials/{credential['id']}").ok()
        moves = len(events) if credential["type"] in REVERSIBLE else 1
        assert version(now) == version(credential) + moves  # one write per cascade that moved it
    assert violations(http) == []


def test_a_cascade_never_overwrites_a_concurrent_credential_write(cluster: Cluster) -> None:
    """While 16 threads deactivate and reactivate a user, 16 others add certificates to its credentials.

    A cascade writes the credentials it moves; it must write them as they are when it moves them, not
    as they were when it looked: every added certificate is still there at the end."""
    http = cluster.client(1)
    user = create_users(http, "contended", 1)[0]
    held = make_credentials(http, user["id"], REVERSIBLE, "contended")
    per_thread = 6

    def worker(w: int) -> list[str]:
        added = []
        for k in range(per_thread):
            client = cluster.client(w + k)
            if w % 2:
                value = DEACTIVATE if k % 2 == 0 else REACTIVATE
                client.patch(f"/Users/{user['id']}", [{"op": "replace", "value": value}]).ok()
            else:
                credential = held[(w // 2 + k) % len(held)]
                serial = f"added-{w}-{k}"
                client.patch(
                    f"/Credentials/{credential['id']}",
                    [{"op": "add", "path": "certificates", "value": [{"serialNumber": serial, "state": "valid"}]}],
                ).ok()
                added.append(serial)
        return added

    added = {serial for per in concurrently(WRITERS, worker) for serial in per}

    present = {
        c["serialNumber"]
        for credential in held
        for c in http.get(f"/Credentials/{credential['id']}").ok()["certificates"]
    }
    assert added <= present, f"lost certificate writes: {sorted(added - present)}"
    assert violations(http) == []


def test_a_credential_created_while_its_holder_is_deleted_is_cascaded_or_refused(cluster: Cluster) -> None:
    """10 times, 11 threads create credentials for a user while another deletes it, on both processes.

    Every credential is either refused (400, no such user) or created before the deletion and cascaded by
    it: none is left active, or with a certificate not revoked, for a user that is gone."""
    created = refused = 0
    for round_ in range(10):
        http = cluster.client(round_)
        user = http.post("/Users", {"schemas": [USER], "userName": f"leaving{round_}"}).ok(201)

        def work(w: int, user: dict[str, Any] = user, round_: int = round_) -> int:
            client = cluster.client(w)
            if w == 0:
                time.sleep(0.02)  # amid the creations
                return client.request("DELETE", f"/Users/{user['id']}").status
            body = {
                "schemas": [CREDENTIAL],
                "type": "card",
                "state": "active",
                "serialNumber": f"leaving{round_}-{w}",
                "user": {"value": user["id"]},
                "certificates": [{"serialNumber": f"leaving{round_}-{w}-cert", "state": "valid"}],
            }
            return client.post("/Credentials", body).status

        statuses = concurrently(12, work)

        assert statuses[0] == 204
        assert set(statuses[1:]) <= {201, 400}, statuses
        created += statuses.count(201)
        refused += statuses[1:].count(400)
        left = http.all("/Credentials", f'user.value eq "{user["id"]}"')
        assert len(left) == statuses.count(201)
        for credential in left:
            assert credential["state"] == "inactive", credential
            assert {c["state"] for c in credential["certificates"]} == {"revoked"}, credential
    print(f"holder deleted amid creations: {created} credentials created and cascaded, {refused} refused")


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_due_terminations_apply_once_with_schedulers_and_run_due_racing(cluster: Cluster, tmp_path: Path) -> None:
    """60 terminations fall due at one moment while the schedulers of all four workers (two processes) and
    two ``run-due`` processes from cron race for them: each is applied exactly once.
    (``tests/hr/test_due.py::test_racing_workers_apply_each_due_item_once`` races run-due processes alone.)"""
    http = cluster.client(0)
    count = 60
    start = _iso(datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30))
    hired = create_users(
        http, "leaver", count, **{LIFECYCLE: {"workRelationships": [{"value": "E1", "startDate": start}]}}
    )
    due = datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(seconds=8)
    path = f'{RELATIONSHIPS}[value eq "E1"].terminationDate'

    def terminate(i: int) -> None:
        user = hired[i]
        cluster.client(i).patch(f"/Users/{user['id']}", [{"op": "replace", "path": path, "value": _iso(due)}]).ok()

    concurrently(16, lambda w: [terminate(i) for i in range(w, count, 16)])
    assert all(http.get(f"/Users/{u['id']}").ok()["active"] for u in hired), (
        "the terminations fell due before they were all scheduled"
    )
    command = [str(SCIM_SERVER), "lifecycle", "run-due", "--now", due.isoformat()]
    # Cron's processes: run-due alone, with --now at the moment, started at once (they take 1-7 s to start
    # on a busy machine) and, on PostgreSQL, slowed down by the test hook (0.25 s per write, 2 items a
    # second each), so that they are still at it when the schedulers wake up to the same items. (Not on
    # SQLite: there each item holds the one writer lock, and a process holding it for half a second at a
    # time, again and again, starves the others past their busy timeout.)
    slow = "0.25" if on_postgresql() else "0"
    cron_env = {**cluster.env, "SCIM_SCHEDULER_INTERVAL": "0", "SCIM_TEST_SLOW_WRITES": slow}
    crons = [
        subprocess.Popen(command, env=cron_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [cron.communicate(timeout=120) for cron in crons]
    assert all(cron.returncode == 0 for cron in crons), outputs
    by_cron = sum(int(out.split()[1]) for out, _ in outputs)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        terminated = http.all("/LifecycleEvents", 'action eq "terminate"')
        if len({e["user"]["value"] for e in terminated}) >= count:
            break
        time.sleep(0.2)
    time.sleep(1)  # whatever a scheduler might still (wrongly) apply a second time
    terminated = http.all("/LifecycleEvents", 'action eq "terminate"')
    assert sorted(e["user"]["value"] for e in terminated) == sorted(u["id"] for u in hired)
    assert all(e["actor"] == "system" for e in terminated)
    for user in hired:
        assert http.get(f"/Users/{user['id']}").ok()[LIFECYCLE]["state"] == "suspended"
    print(f"due terminations: {count}, {by_cron} applied by the run-due processes, the rest by the schedulers")
