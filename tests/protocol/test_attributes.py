"""attributes / excludedAttributes (RFC 7644 §3.9), and that excluded members are never read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import ENTERPRISE, ScimClient, ok


@contextmanager
def statements(state: Any) -> Iterator[list[str]]:
    """The SQL a block sends to the database."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(state.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(state.engine, "before_cursor_execute", record)


@pytest.fixture
def barbara(make_user: Any) -> dict[str, Any]:
    return make_user(
        "bjensen",
        title="Guide",
        emails=[{"value": "b@example.com", "type": "work"}],
        **{ENTERPRISE: {"department": "IT"}},
    )


def test_attributes_keeps_the_asked_ones_and_the_always_returned(client: ScimClient, barbara: dict[str, Any]) -> None:
    body = ok(client.get(f"/Users/{barbara['id']}", query_string={"attributes": "title,emails.value"}))
    assert set(body) == {"schemas", "id", "title", "emails"}
    assert body["emails"] == [{"value": "b@example.com"}]


def test_excluded_attributes_drops_them(client: ScimClient, barbara: dict[str, Any]) -> None:
    body = ok(
        client.get(f"/Users/{barbara['id']}", query_string={"excludedAttributes": f"emails,{ENTERPRISE}:department"})
    )
    assert "emails" not in body and "title" in body
    assert ENTERPRISE not in body or "department" not in body[ENTERPRISE]


def test_attributes_apply_to_searches_and_writes(client: ScimClient, barbara: dict[str, Any]) -> None:
    listed = ok(client.search("/Users", attributes="userName"))
    assert set(listed["Resources"][0]) == {"schemas", "id", "userName"}
    patched = ok(
        client.patch(f"/Users/{barbara['id']}?attributes=title", [{"op": "replace", "path": "title", "value": "Lead"}])
    )
    assert set(patched) == {"schemas", "id", "title"} and patched["title"] == "Lead"


def test_excluding_members_never_reads_them(client: ScimClient, state: Any, make_user: Any, make_group: Any) -> None:
    users = [make_user() for _ in range(3)]
    group = make_group("Big", members=[u["id"] for u in users])

    with statements(state) as seen:
        body = ok(client.get(f"/Groups/{group['id']}", query_string={"excludedAttributes": "members"}))
        listed = ok(client.search("/Groups", excludedAttributes="members"))

    assert "members" not in body and "members" not in listed["Resources"][0]
    assert not [s for s in seen if "scim_member" in s and "scim_token" not in s]


def test_members_are_read_when_returned(client: ScimClient, state: Any, make_user: Any, make_group: Any) -> None:
    user = make_user()
    group = make_group(members=[user["id"]])
    with statements(state) as seen:
        body = ok(client.get(f"/Groups/{group['id']}"))
    assert [m["value"] for m in body["members"]] == [user["id"]]
    assert any("scim_member" in s for s in seen)
