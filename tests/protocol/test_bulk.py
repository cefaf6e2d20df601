"""/Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, one savepoint per operation, limits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BULK, GROUP, USER, ScimClient, error, ok


def bulk(client: ScimClient, operations: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return ok(client.post("/Bulk", {"schemas": [BULK], "Operations": operations, **extra}))


def test_bulk_ids_link_a_user_to_the_group_created_with_it(client: ScimClient) -> None:
    result = bulk(
        client,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Tour Guides",
                    "members": [{"type": "User", "value": "bulkId:u"}],
                },
            },
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": "bjensen"}},
        ],
    )

    statuses = [int(op["status"]) for op in result["Operations"]]
    assert statuses == [201, 201]
    group_location = result["Operations"][0]["location"]
    group = ok(client.get(group_location.split("/scim/v2")[1]))
    user_id = result["Operations"][1]["location"].rsplit("/", 1)[1]
    assert [m["value"] for m in group["members"]] == [user_id]


def test_a_failed_operation_does_not_undo_the_others(client: ScimClient, make_user: Any) -> None:
    taken = make_user("taken")
    result = bulk(
        client,
        [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "alice"}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER], "userName": "TAKEN"}},
            {
                "method": "PATCH",
                "path": f"/Users/{taken['id']}",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "title", "value": "kept"}],
                },
            },
        ],
    )

    assert [int(op["status"]) for op in result["Operations"]] == [201, 409, 200]
    assert result["Operations"][1]["response"]["scimType"] == "uniqueness"
    assert ok(client.search("/Users", filter='userName eq "alice"'))["totalResults"] == 1
    assert ok(client.get(f"/Users/{taken['id']}"))["title"] == "kept"


def test_fail_on_errors_stops_the_request(client: ScimClient) -> None:
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"u{i}",
            "data": {"schemas": [USER], "userName": "dup"},
        }
        for i in range(4)
    ]
    result = bulk(client, operations, failOnErrors=1)

    assert [int(op["status"]) for op in result["Operations"]] == [201, 409]
    assert ok(client.search("/Users"))["totalResults"] == 1


@pytest.mark.parametrize(
    ("member", "status", "scim_type"),
    [
        ("bulkId:nope", 409, None),  # a bulkId no operation creates
        ("ghost", 400, "invalidValue"),  # an id that names no User or Group
    ],
)
def test_unresolvable_members_fail_their_operation(
    client: ScimClient, member: str, status: int, scim_type: str | None
) -> None:
    data = {"schemas": [GROUP], "displayName": "g", "members": [{"value": member}]}
    result = bulk(client, [{"method": "POST", "path": "/Groups", "bulkId": "g", "data": data}])

    assert int(result["Operations"][0]["status"]) == status
    assert result["Operations"][0]["response"].get("scimType") == scim_type
    assert ok(client.search("/Groups"))["totalResults"] == 0


def test_too_many_operations_is_413(client: ScimClient, state: Any, snapshot: Any) -> None:
    before = snapshot()
    operations = [{"method": "DELETE", "path": "/Users/x"}] * (state.settings.bulk_max_operations + 1)
    error(client.post("/Bulk", {"schemas": [BULK], "Operations": operations}), 413)
    assert snapshot() == before


def test_too_large_payload_is_413(client: ScimClient, state: Any) -> None:
    data = {"schemas": [USER], "userName": "x", "title": "t" * state.settings.max_payload_size}
    error(
        client.post("/Bulk", {"schemas": [BULK], "Operations": [{"method": "POST", "path": "/Users", "data": data}]}),
        413,
    )


@pytest.mark.parametrize(
    "operation",
    [
        {"method": "POST", "path": "/Pets", "data": {}},
        {"method": "GET", "path": "/Users"},
        {"method": "PUT", "path": "/Users/missing", "data": {"schemas": [USER], "userName": "x"}},
        {
            "method": "PATCH",
            "path": "/Users/missing",
            "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "title", "value": "x"}],
            },
        },
    ],
)
def test_bad_operations_fail_alone(client: ScimClient, operation: dict[str, Any]) -> None:
    result = ok(client.post("/Bulk", {"schemas": [BULK], "Operations": [operation]}))
    assert int(result["Operations"][0]["status"]) >= 400
