"""Group membership: applied as deltas, in every shape clients send, and never by reading the other members."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from scim_server.storage.tables import MemberRow
from tests.conftest import GROUP, ScimClient, error, ok
from tests.protocol.test_attributes import statements


@pytest.fixture
def people(make_user: Any) -> list[dict[str, Any]]:
    return [make_user(f"member{i}") for i in range(4)]


def members(client: ScimClient, group: dict[str, Any]) -> list[str]:
    return sorted(m["value"] for m in ok(client.get(f"/Groups/{group['id']}")).get("members", []))


# (operations built from the member ids, members expected after, from a group holding members 0 and 1)
SHAPES = {
    "add with path": (lambda ids: [{"op": "add", "path": "members", "value": [{"value": ids[2]}]}], [0, 1, 2]),
    "add a single object": (lambda ids: [{"op": "add", "path": "members", "value": {"value": ids[2]}}], [0, 1, 2]),
    "add without path": (lambda ids: [{"op": "add", "value": {"members": [{"value": ids[3]}]}}], [0, 1, 3]),
    "add what is there": (lambda ids: [{"op": "add", "path": "members", "value": [{"value": ids[0]}]}], [0, 1]),
    "add by URN path": (
        lambda ids: [{"op": "add", "path": f"{GROUP}:members", "value": [{"value": ids[2]}]}],
        [0, 1, 2],
    ),
    "remove by value path": (lambda ids: [{"op": "remove", "path": f'members[value eq "{ids[0]}"]'}], [1]),
    "remove by value path with or": (
        lambda ids: [{"op": "remove", "path": f'members[value eq "{ids[0]}" or value eq "{ids[1]}"]'}],
        [],
    ),
    "remove by type": (lambda ids: [{"op": "remove", "path": 'members[type eq "User"]'}], []),
    "remove all": (lambda ids: [{"op": "remove", "path": "members"}], []),
    # Microsoft Entra ID: Remove with a value removes those members only.
    "Entra remove with value": (lambda ids: [{"op": "Remove", "path": "members", "value": [{"value": ids[1]}]}], [0]),
    "remove a member that is gone": (
        lambda ids: [{"op": "Remove", "path": "members", "value": [{"value": "0" * 32}, {"value": ids[1]}]}],
        [0],
    ),
    "replace the set": (
        lambda ids: [{"op": "replace", "path": "members", "value": [{"value": ids[2]}, {"value": ids[1]}]}],
        [1, 2],
    ),
    "replace without path": (
        lambda ids: [{"op": "replace", "value": {"members": [{"value": ids[3]}], "displayName": "Renamed"}}],
        [3],
    ),
    "replace with nothing": (lambda ids: [{"op": "replace", "path": "members", "value": []}], []),
    "several in one request": (
        lambda ids: [
            {"op": "add", "path": "members", "value": [{"value": ids[2]}, {"value": ids[3]}]},
            {"op": "remove", "path": f'members[value eq "{ids[0]}"]'},
        ],
        [1, 2, 3],
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_membership_patch_shapes(client: ScimClient, people: list[dict[str, Any]], make_group: Any, shape: str) -> None:
    ids = [p["id"] for p in people]
    group = make_group("Tour Guides", members=ids[:2])
    operations, expected = SHAPES[shape]

    body = ok(client.patch(f"/Groups/{group['id']}", operations(ids)))

    assert members(client, group) == sorted(ids[i] for i in expected)
    assert sorted(m["value"] for m in body.get("members", [])) == sorted(ids[i] for i in expected)


def test_membership_change_bumps_the_version(client: ScimClient, people: list[dict[str, Any]], make_group: Any) -> None:
    group = make_group(members=[people[0]["id"]])
    body = ok(
        client.patch(
            f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": people[1]["id"]}]}]
        )
    )
    assert body["meta"]["version"] != group["meta"]["version"]
    unchanged = ok(
        client.patch(
            f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": people[1]["id"]}]}]
        )
    )
    assert unchanged["meta"]["version"] == body["meta"]["version"]


def test_member_add_does_not_read_the_other_members(
    client: ScimClient, state: Any, make_user: Any, make_group: Any
) -> None:
    crowd = [make_user() for _ in range(30)]
    group = make_group("Crowd", members=[u["id"] for u in crowd])
    newcomer = make_user()

    with statements(state) as seen:
        ok(
            client.patch(
                f"/Groups/{group['id']}?excludedAttributes=members",
                [{"op": "add", "path": "members", "value": [{"value": newcomer["id"]}]}],
            )
        )

    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT") and "scim_member" in s]
    assert reads == [], reads
    with state.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(MemberRow)).scalar_one()
    assert count == 31


@pytest.mark.parametrize(
    "value",
    [
        [{"value": "no-such-id"}],
        [{"display": "no value"}],
    ],
)
def test_adding_something_that_is_not_a_user_or_group_is_refused(
    client: ScimClient, people: list[dict[str, Any]], make_group: Any, snapshot: Any, value: list[dict[str, Any]]
) -> None:
    group = make_group(members=[people[0]["id"]])
    before = snapshot()
    error(
        client.patch(f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": value}]), 400, "invalidValue"
    )
    assert snapshot() == before


def test_a_wrong_type_is_refused(client: ScimClient, people: list[dict[str, Any]], make_group: Any) -> None:
    group = make_group()
    error(
        client.patch(
            f"/Groups/{group['id']}",
            [{"op": "add", "path": "members", "value": [{"value": people[0]["id"], "type": "Group"}]}],
        ),
        400,
        "invalidValue",
    )


def test_a_group_cannot_contain_itself(client: ScimClient, make_group: Any) -> None:
    group = make_group()
    error(
        client.patch(f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": group["id"]}]}]),
        400,
        "invalidValue",
    )


def test_nested_groups(client: ScimClient, people: list[dict[str, Any]], make_group: Any) -> None:
    inner = make_group("Inner", members=[people[0]["id"]])
    outer = make_group("Outer", members=[inner["id"], people[1]["id"]])
    body = ok(client.get(f"/Groups/{outer['id']}"))
    assert {(m["value"], m["type"]) for m in body["members"]} == {(inner["id"], "Group"), (people[1]["id"], "User")}


def test_user_groups_lists_direct_memberships(
    client: ScimClient, people: list[dict[str, Any]], make_group: Any
) -> None:
    admins = make_group("Admins", members=[people[0]["id"]])
    make_group("Others", members=[people[1]["id"]])

    user = ok(client.get(f"/Users/{people[0]['id']}"))

    assert [(g["value"], g["display"], g["type"]) for g in user["groups"]] == [(admins["id"], "Admins", "direct")]
    assert user["groups"][0]["$ref"].endswith(f"/scim/v2/Groups/{admins['id']}")


def test_deleting_a_member_removes_it_and_bumps_its_groups(
    client: ScimClient, people: list[dict[str, Any]], make_group: Any
) -> None:
    group = make_group(members=[people[0]["id"], people[1]["id"]])
    client.delete(f"/Users/{people[0]['id']}")
    body = ok(client.get(f"/Groups/{group['id']}"))
    assert [m["value"] for m in body["members"]] == [people[1]["id"]]
    assert body["meta"]["version"] != group["meta"]["version"]


def test_deleting_a_group_keeps_its_members(client: ScimClient, people: list[dict[str, Any]], make_group: Any) -> None:
    group = make_group(members=[people[0]["id"]])
    client.delete(f"/Groups/{group['id']}")
    assert "groups" not in ok(client.get(f"/Users/{people[0]['id']}"))


def test_rare_shapes_fall_back_to_the_library(
    client: ScimClient, people: list[dict[str, Any]], make_group: Any
) -> None:
    group = make_group(members=[people[0]["id"]])
    body = ok(
        client.patch(
            f"/Groups/{group['id']}",
            [{"op": "replace", "path": f'members[value eq "{people[0]["id"]}"].display', "value": "Member Zero"}],
        )
    )
    assert body["members"] == [
        {
            "value": people[0]["id"],
            "$ref": f"http://localhost/scim/v2/Users/{people[0]['id']}",
            "type": "User",
            "display": "Member Zero",
        }
    ]


def test_put_replaces_membership_by_difference(
    client: ScimClient, people: list[dict[str, Any]], make_group: Any
) -> None:
    group = make_group(members=[p["id"] for p in people[:3]])
    body = ok(
        client.put(
            f"/Groups/{group['id']}",
            {
                "schemas": [GROUP],
                "displayName": "x",
                "members": [{"value": people[2]["id"]}, {"value": people[3]["id"]}],
            },
        )
    )
    assert sorted(m["value"] for m in body["members"]) == sorted([people[2]["id"], people[3]["id"]])


def test_if_match_guards_membership_patches(
    client: ScimClient, people: list[dict[str, Any]], make_group: Any, snapshot: Any
) -> None:
    group = make_group()
    ok(
        client.patch(
            f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": people[0]["id"]}]}]
        )
    )
    before = snapshot()
    error(
        client.patch(
            f"/Groups/{group['id']}",
            [{"op": "add", "path": "members", "value": [{"value": people[1]["id"]}]}],
            headers={"If-Match": group["meta"]["version"]},
        ),
        412,
    )
    assert snapshot() == before
