"""The measured phases: one declarative table, one small request factory each.

A factory receives the seeded world, the target (server or ceiling) and its
coroutine's number, and returns that coroutine's operation. Request bytes are
prebuilt in a small pool per coroutine, from a random generator seeded by
(phase, concurrency, coroutine), so the ceiling and the server receive the same
sequence of requests. Phases that write to one user at a time partition the
users among the coroutines, so two coroutines never toggle the same user at once.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from .loadgen import Connection, Operation, Target
from .people import ENTERPRISE, LIFECYCLE, Person, patch

POOL = 256
"""Prebuilt requests per coroutine, sent in a cycle."""

DEPARTMENT_COUNT = 1
"""``count`` of the ``department eq`` search. A department holds N/50 users, so a page of 100 would make this
phase the "page of 100" phase again; its target (0.30, against 0.08 for a page of 100) is for finding matches
and counting them (``totalResults``) through an index, which one result per page measures."""


@dataclass
class World:
    """What seeding left in the server, which the factories draw from."""

    persons: list[Person]
    ids: list[str]
    credential_users: list[int]
    """Indexes of the users that hold a card (one in ten)."""
    group_id: str
    group_size: int
    candidates: list[int]
    """Indexes of users outside the large group, for member add/remove."""


Factory = Callable[[World, Target, random.Random, int, int], Operation]
"""(world, target, rng, coroutine number, concurrency) -> that coroutine's operation."""


@dataclass(frozen=True)
class Phase:
    name: str
    title: str
    target: float | None
    """Least server/ceiling ratio the issue asks for; None: reported, no target."""
    factory: Factory
    per_group_size: bool = False
    """Run once at each size the large group grows to."""


def cycling(pool: Sequence[bytes]) -> Operation:
    requests = itertools.cycle(pool)

    async def operation(connection: Connection) -> None:
        await connection.call(next(requests))

    return operation


def cycling_pairs(pool: Sequence[tuple[bytes, bytes]]) -> Operation:
    """Two requests per operation: the second undoes the first, so the phase leaves the data as it found it."""
    pairs = itertools.cycle(pool)

    async def operation(connection: Connection) -> None:
        first, second = next(pairs)
        await connection.call(first)
        await connection.call(second)

    return operation


def partition(items: Sequence[int], worker: int, concurrency: int) -> Sequence[int]:
    share = items[worker::concurrency]
    if not share:
        raise ValueError(f"{len(items)} users cannot be shared among {concurrency} coroutines")
    return share


def _search(target: Target, scim_filter: str, extra: str = "") -> bytes:
    return target.request("GET", f"/scim/v2/Users?filter={quote(scim_filter)}{extra}")


def get_user(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    return cycling([target.request("GET", f"/scim/v2/Users/{rng.choice(world.ids)}") for _ in range(POOL)])


def filter_user_name(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    return cycling([_search(target, f'userName eq "{rng.choice(world.persons).user_name}"') for _ in range(POOL)])


def filter_department(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    return cycling(
        [
            _search(
                target,
                f'{ENTERPRISE}:department eq "{rng.choice(world.persons).department}"',
                f"&count={DEPARTMENT_COUNT}",
            )
            for _ in range(POOL)
        ]
    )


def filter_email_contains(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    def fragment() -> str:
        tag, start = rng.choice(world.persons).tag, rng.randrange(3)
        return tag[start : start + 4]

    return cycling([_search(target, f'emails.value co "{fragment()}"') for _ in range(POOL)])


def list_page(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    last = max(1, len(world.ids) - 99)
    return cycling(
        [target.request("GET", f"/scim/v2/Users?startIndex={rng.randint(1, last)}&count=100") for _ in range(POOL)]
    )


_created = itertools.count()


def post_delete(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    """POST a new user, then DELETE it by the id in the answer (the one phase that parses an answer)."""
    document = rng.choice(world.persons).user()
    document["userName"] = "__NAME__"
    template, placeholder = json.dumps(document).encode(), b'"__NAME__"'

    async def operation(connection: Connection) -> None:
        name = json.dumps(f"new.{worker}.{next(_created)}@example.com").encode()
        created = await connection.call(target.request("POST", "/scim/v2/Users", template.replace(placeholder, name)))
        await connection.call(target.request("DELETE", f"/scim/v2/Users/{json.loads(created.body)['id']}"))

    return operation


def put_user(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    """The whole user, as an identity provider sends it, with a changed title."""
    pool = []
    for number in range(POOL):
        index = rng.randrange(len(world.ids))
        body = json.dumps(world.persons[index].user(title=f"Title {worker}.{number}")).encode()
        pool.append(target.request("PUT", f"/scim/v2/Users/{world.ids[index]}", body))
    return cycling(pool)


DEACTIVATE = patch({"op": "replace", "value": {"active": False, f"{LIFECYCLE}:reason": "parentalLeave"}})
REACTIVATE = patch({"op": "replace", "value": {"active": True}})


def patch_cascade(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    """Deactivate (the card goes inactive, its certificate on hold), then reactivate (released)."""
    mine = partition(world.credential_users, worker, concurrency)
    return cycling_pairs(
        [
            (
                target.request("PATCH", f"/scim/v2/Users/{world.ids[index]}", DEACTIVATE),
                target.request("PATCH", f"/scim/v2/Users/{world.ids[index]}", REACTIVATE),
            )
            for index in mine
        ]
    )


def member_add_remove(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    """Add a user outside the group, then remove it; ``excludedAttributes=members`` as clients of large groups do."""
    path = f"/scim/v2/Groups/{world.group_id}?excludedAttributes=members"
    pool = []
    for index in partition(world.candidates, worker, concurrency)[:POOL]:
        user_id = world.ids[index]
        add = patch({"op": "add", "path": "members", "value": [{"value": user_id}]})
        remove = patch({"op": "remove", "path": f'members[value eq "{user_id}"]'})
        pool.append((target.request("PATCH", path, add), target.request("PATCH", path, remove)))
    return cycling_pairs(pool)


def get_group(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    return cycling([target.request("GET", f"/scim/v2/Groups/{world.group_id}?excludedAttributes=members")])


def get_group_members(world: World, target: Target, rng: random.Random, worker: int, concurrency: int) -> Operation:
    return cycling([target.request("GET", f"/scim/v2/Groups/{world.group_id}")])


PHASES: tuple[Phase, ...] = (
    Phase("get-user", "GET user by id", 0.50, get_user),
    Phase("filter-username", "filter userName eq", 0.45, filter_user_name),
    Phase("filter-department", f"filter department eq (count={DEPARTMENT_COUNT})", 0.30, filter_department),
    Phase("filter-email-co", "filter emails.value co", 0.10, filter_email_contains),
    Phase("list-page", "list page of 100", 0.08, list_page),
    Phase("post-delete", "POST + DELETE user", None, post_delete),
    Phase("put", "PUT user", 0.25, put_user),
    Phase("patch-cascade", "PATCH active=false (cascade) + back", 0.25, patch_cascade),
    Phase("member-add-remove", "group member add + remove", 0.30, member_add_remove, per_group_size=True),
    Phase("get-group", "GET group excludedAttributes=members", 0.45, get_group, per_group_size=True),
    Phase("get-group-members", "GET group with members", None, get_group_members, per_group_size=True),
)

SEEDING_TARGET = 2000.0
"""Users per second through /Bulk."""
TERMINATIONS_TARGET = 10.0
"""Seconds for one /Bulk of 1,000 terminations."""
RSS_TARGET_MIB = 300.0
"""Per worker, after seeding."""
