"""userName is unique, case-insensitively, and the database enforces it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import USER, ScimClient, error, ok


@pytest.mark.parametrize("spelling", ["bjensen", "BJensen", "BJENSEN", "bJeNsEn"])
def test_create_with_a_taken_user_name_is_409(client: ScimClient, make_user: Any, snapshot: Any, spelling: str) -> None:
    make_user("bjensen")
    before = snapshot()
    error(client.post("/Users", {"schemas": [USER], "userName": spelling}), 409, "uniqueness")
    assert snapshot() == before


def test_unicode_user_names_fold_their_case(client: ScimClient, make_user: Any) -> None:
    make_user("Ådne")
    error(client.post("/Users", {"schemas": [USER], "userName": "åDNE"}), 409, "uniqueness")


def test_rename_onto_a_taken_name_is_409(client: ScimClient, make_user: Any, snapshot: Any) -> None:
    make_user("alice")
    bob = make_user("bob")
    before = snapshot()
    error(client.put(f"/Users/{bob['id']}", {"schemas": [USER], "userName": "ALICE"}), 409, "uniqueness")
    error(
        client.patch(f"/Users/{bob['id']}", [{"op": "replace", "path": "userName", "value": "Alice"}]),
        409,
        "uniqueness",
    )
    assert snapshot() == before


def test_a_freed_name_can_be_taken(client: ScimClient, make_user: Any) -> None:
    alice = make_user("alice")
    ok(client.patch(f"/Users/{alice['id']}", [{"op": "replace", "path": "userName", "value": "alice2"}]))
    make_user("ALICE")
    client.delete(f"/Users/{alice['id']}")
    make_user("alice2")


def test_changing_only_the_case_of_ones_own_name_is_allowed(client: ScimClient, make_user: Any) -> None:
    alice = make_user("alice")
    body = ok(client.patch(f"/Users/{alice['id']}", [{"op": "replace", "path": "userName", "value": "Alice"}]))
    assert body["userName"] == "Alice"
