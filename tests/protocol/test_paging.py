"""Index paging (RFC 7644 §3.4.2.4) and cursor paging (RFC 9865), run in SQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ScimClient, error, ok


@pytest.fixture
def twelve(make_user: Any) -> list[dict[str, Any]]:
    return [make_user(f"user{index:02d}") for index in range(12)]


@pytest.mark.parametrize(
    ("start_index", "count", "expected"),
    [
        (1, 5, range(0, 5)),
        (6, 5, range(5, 10)),
        (11, 5, range(10, 12)),
        (13, 5, range(0)),
        (0, 3, range(0, 3)),
        (-4, 3, range(0, 3)),
    ],
)
def test_index_pages(
    client: ScimClient, twelve: list[dict[str, Any]], start_index: int, count: int, expected: range
) -> None:
    body = ok(client.search("/Users", sortBy="userName", startIndex=start_index, count=count))

    assert [r["userName"] for r in body.get("Resources", [])] == [f"user{i:02d}" for i in expected]
    assert body["totalResults"] == 12
    assert body["startIndex"] == max(start_index, 1)
    assert body["itemsPerPage"] == len(expected)


def test_count_zero_gives_only_the_total(client: ScimClient, twelve: list[dict[str, Any]]) -> None:
    body = ok(client.search("/Users", count=0))
    assert body["totalResults"] == 12
    assert body.get("Resources", []) == []


def test_count_is_bounded_by_max_results(client: ScimClient, twelve: list[dict[str, Any]], state: Any) -> None:
    body = ok(client.search("/Users", count=state.settings.max_results * 10))
    assert body["itemsPerPage"] == 12


def test_negative_count_is_zero(client: ScimClient, twelve: list[dict[str, Any]]) -> None:
    body = ok(client.search("/Users", count=-3))
    assert body["itemsPerPage"] == 0


def _walk(client: ScimClient, **params: Any) -> list[dict[str, Any]]:
    pages = [ok(client.search("/Users", cursor="", **params))]
    while pages[-1].get("nextCursor"):
        pages.append(ok(client.search("/Users", cursor=pages[-1]["nextCursor"], **params)))
    return pages


@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_cursor_pages_every_resource_once_in_order(
    client: ScimClient, twelve: list[dict[str, Any]], order: str
) -> None:
    pages = _walk(client, count=5, sortBy="userName", sortOrder=order)

    names = [r["userName"] for page in pages for r in page["Resources"]]
    assert [len(page["Resources"]) for page in pages] == [5, 5, 2]
    assert names == sorted(names, reverse=order == "descending")
    assert sorted(names) == sorted(u["userName"] for u in twelve)
    assert "previousCursor" not in pages[0]
    assert "startIndex" not in pages[0]


def test_previous_cursor_walks_back(client: ScimClient, twelve: list[dict[str, Any]]) -> None:
    pages = _walk(client, count=5, sortBy="userName")
    back = ok(client.search("/Users", cursor=pages[2]["previousCursor"], count=5, sortBy="userName"))
    assert back["Resources"] == pages[1]["Resources"]
    first = ok(client.search("/Users", cursor=back["previousCursor"], count=5, sortBy="userName"))
    assert first["Resources"] == pages[0]["Resources"]
    assert "previousCursor" not in first


def test_cursor_survives_writes_between_pages(client: ScimClient, twelve: list[dict[str, Any]], make_user: Any) -> None:
    first = ok(client.search("/Users", cursor="", count=5, sortBy="userName"))
    client.delete(f"/Users/{first['Resources'][-1]['id']}")
    make_user("user00a")  # sorts into the first page, already read
    rest = ok(client.search("/Users", cursor=first["nextCursor"], count=5, sortBy="userName"))
    assert [r["userName"] for r in rest["Resources"]] == [f"user{i:02d}" for i in range(5, 10)]


@pytest.mark.parametrize("cursor", ["garbage", "a" * 200, "!!"])
def test_forged_cursor_is_invalid_cursor(client: ScimClient, twelve: list[dict[str, Any]], cursor: str) -> None:
    error(client.search("/Users", cursor=cursor, count=5), 400, "invalidCursor")


def test_cursor_of_another_query_is_refused(client: ScimClient, twelve: list[dict[str, Any]]) -> None:
    first = ok(client.search("/Users", cursor="", count=5, sortBy="userName"))
    error(client.search("/Users", cursor=first["nextCursor"], count=5, sortBy="displayName"), 400)


def test_cursor_and_start_index_together_are_refused(client: ScimClient) -> None:
    error(client.search("/Users", cursor="", startIndex=2), 400, "invalidValue")
