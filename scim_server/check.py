"""``scim-server check``: scim2-tester against a running deployment, with this server's known answers marked.

An operator runs it after a deployment to see that the server answers the
protocol as it should. scim2-tester writes to every resource type and reads
the result back; a handful of its checks fail on purpose here, each for a
reason the README's "Conformance" section gives with the RFC text. Those are
reported as expected, so that anything else stands out and fails the command.

scim2-tester 0.5 fills ``dateTime`` attributes with a random UUID and then
refuses to send its own request; the run fixes that generator (``valid_datetimes``)
so that those checks reach the server.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

FAILING = ("ERROR", "CRITICAL", "DEVIATION")

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

Key = tuple[str, str, str | None]
"""A check: the resource type, the check's title, and the attribute it is about (if any)."""

EXPECTED: dict[Key, str] = {
    **{("LifecycleEvent", check, None): "/LifecycleEvents is read-only" for check in CRUD_CHECKS},
    ("Credential", "object_replacement", None): "mutability",
    ("Credential", "check_replace_attribute", "user"): "'value' is immutable",
    ("User", "check_add_attribute", LIFECYCLE): "returned unexpected value",
    ("User", "check_add_attribute", f"{LIFECYCLE}:workRelationships"): "returned unexpected value",
    ("User", "check_replace_attribute", LIFECYCLE): "returned unexpected value",
    ("User", "check_replace_attribute", f"{LIFECYCLE}:workRelationships"): "returned unexpected value",
    ("User", "check_remove_attribute", LIFECYCLE): "did not remove",
    ("User", "check_remove_attribute", "active"): "did not remove",
}
"""Checks this server fails on purpose, with a phrase of the failure they give (README, "Conformance"):
/LifecycleEvents is read-only; a credential's holder is immutable; the lifecycle extension carries read-only
state the server sets; an add to a multi-valued attribute appends (RFC 7644 §3.5.2.1); a work relationship's
``status`` is derived; core ``active`` is derived from the lifecycle state."""


WITH_DEFAULT_ROLES: dict[Key, str] = {
    ("User", "check_add_attribute", "roles"): "returned unexpected value",
    ("User", "check_replace_attribute", "roles"): "returned unexpected value",
    ("User", "check_remove_attribute", "roles"): "did not remove",
}
"""Checks that fail on purpose under a policy with default roles (the shipped ``["user"]``): the server adds
them to every user, so roles read back hold more than the check wrote, and removing the client's roles leaves
the server's."""


def key_of(result: Any, *, by_path: bool = True) -> Key:
    urn = result.data.get("urn") if by_path and isinstance(result.data, dict) else None
    return (str(result.resource_type), str(result.title), urn)


@dataclass
class Report:
    """The outcome of a run: counts by status, and the failures split into expected and not."""

    counts: Counter[str] = field(default_factory=Counter)
    expected: list[tuple[Key, str]] = field(default_factory=list)
    unexpected: list[tuple[Key, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.unexpected


def judge(results: Sequence[Any], expected: dict[Key, str] | None = None, *, by_path: bool = True) -> Report:
    """Sort the failures: a failure is expected only when it is listed and fails for the listed reason."""
    expected = {**EXPECTED, **WITH_DEFAULT_ROLES} if expected is None else expected
    report = Report(Counter(result.status.name for result in results))
    for result in results:
        if result.status.name not in FAILING:
            continue
        key, reason = key_of(result, by_path=by_path), result.reason or ""
        known = expected.get(key)
        (report.expected if known is not None and known in reason else report.unexpected).append((key, reason))
    return report


@contextmanager
def valid_datetimes() -> Iterator[None]:
    """scim2-tester with a generator that gives dateTime attributes a dateTime.

    A generated ``terminationDate`` falls after any generated ``startDate``: the
    server refuses a relationship that ends before it starts, and applies a
    termination whose date has passed, so random dates would make the outcome
    change from run to run.
    """
    from scim2_tester import filling
    from scim2_tester.checkers import patch_add, patch_replace

    original = filling.generate_random_value

    def generate(context: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        binding = path.resolve()
        if binding is not None and binding.target_type is datetime.datetime:
            year = 2031 if str(path).lower().endswith("terminationdate") else 2026
            moment = datetime.datetime(year, 1, 2, 3, 4, 5, tzinfo=datetime.UTC) + datetime.timedelta(
                days=random.randrange(900)
            )
            return [moment] if binding.target_is_multivalued else moment
        return original(context, path, *args, **kwargs)

    modules = (filling, patch_add, patch_replace)
    for module in modules:
        module.generate_random_value = generate  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in modules:
            module.generate_random_value = original  # type: ignore[attr-defined]


def run(url: str, token: str, *, resource_types: Sequence[str] = (), fix_datetimes: bool = True) -> list[Any]:
    """Run scim2-tester's checks against the server at ``url`` (its SCIM root) with a bearer token."""
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import check_server

    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=url, headers=headers, timeout=60) as http:
        client = SyncSCIMClient(http)
        client.discover()
        kinds = list(resource_types) or None
        if not fix_datetimes:
            return list(check_server(client, resource_types=kinds))
        with valid_datetimes():
            return list(check_server(client, resource_types=kinds))
