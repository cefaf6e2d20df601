"""The limits /ServiceProviderConfig advertises are the limits enforced, to the byte and to the operation.

A server under small limits (on the suite's database) is asked for its
configuration, and each limit is met exactly — served — and exceeded by one —
refused with a SCIM error and nothing stored:

* ``bulk.maxPayloadSize`` bounds every request body (RFC 7644 §3.7.4 for
  /Bulk: "the service provider MUST respond with HTTP status code 413"; this
  server applies the same bound to every body): 413.
* ``bulk.maxOperations``: 413, none of the operations applied (§3.7.4).
* ``filter.maxResults``: a search asking a larger ``count`` gets at most
  ``maxResults`` resources, with the true ``totalResults`` (§3.4.2.4: the
  provider "MUST NOT return more results than specified, although it MAY
  return fewer"). The server pages instead of answering 400 ``tooMany``
  (§3.12), which a client cannot work around.

Besides these, filters have bounds of their own (README "Hostile input and
limits"): nesting, comparisons, and the length of a substring operand —
each met and exceeded by one here too, on the server with the shipped limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from scim_server import create_app
from scim_server.storage.filters import MAX_COMPARISONS, MAX_SUBSTRING
from tests.conftest import BULK, PATCH_OP, SCIM, USER, ScimClient, error, ok

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIMITS = {
    "SCIM_MAX_PAYLOAD_SIZE": 4096,
    "SCIM_BULK_MAX_OPERATIONS": 5,
    "SCIM_MAX_RESULTS": 3,
    "SCIM_DEFAULT_PAGE_SIZE": 2,
}


@pytest.fixture(scope="module")
def limited_app(database_url: str) -> Iterator[Flask]:
    app = create_app({"SCIM_DATABASE_URL": database_url, "SCIM_LOG_LEVEL": "WARNING", **LIMITS})
    yield app
    app.extensions["scim_server"].engine.dispose()


@pytest.fixture
def limited(limited_app: Flask, make_token: Any, state: Any) -> ScimClient:
    return ScimClient(limited_app.test_client(), make_token("limits"))


@pytest.fixture
def advertised(limited: ScimClient) -> dict[str, int]:
    """The limits, as a client learns them: from /ServiceProviderConfig, without a token."""
    config = ok(ScimClient(limited.flask, None).get("/ServiceProviderConfig"))
    return {
        "maxPayloadSize": config["bulk"]["maxPayloadSize"],
        "maxOperations": config["bulk"]["maxOperations"],
        "maxResults": config["filter"]["maxResults"],
        "maxPageSize": config["pagination"]["maxPageSize"],
        "defaultPageSize": config["pagination"]["defaultPageSize"],
    }


def test_the_limits_advertised_are_the_configured_ones(advertised: dict[str, int]) -> None:
    assert advertised == {
        "maxPayloadSize": LIMITS["SCIM_MAX_PAYLOAD_SIZE"],
        "maxOperations": LIMITS["SCIM_BULK_MAX_OPERATIONS"],
        "maxResults": LIMITS["SCIM_MAX_RESULTS"],
        "maxPageSize": LIMITS["SCIM_MAX_RESULTS"],
        "defaultPageSize": LIMITS["SCIM_DEFAULT_PAGE_SIZE"],
    }


def padded(document: dict[str, Any], size: int) -> bytes:
    """``document`` as JSON of exactly ``size`` bytes, its ``{pad}`` (inside a string) filled with x."""
    text = json.dumps(document)
    body = text.replace("{pad}", "x" * (size - len(text.encode()) + len("{pad}"))).encode()
    assert len(body) == size
    return body


def _send(client: ScimClient, method: str, path: str, body: bytes) -> Any:
    return client.request(method, path, data=body, headers={"Content-Type": SCIM})


def _bulk_creating(count: int, prefix: str, title: str = "t") -> dict[str, Any]:
    return {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"u{index}",
                "data": {"schemas": [USER], "userName": f"{prefix}{index}", "title": title},
            }
            for index in range(count)
        ],
    }


def test_a_bulk_request_of_max_payload_size_is_served_and_one_byte_more_is_413(
    limited: ScimClient, advertised: dict[str, int], snapshot: Any
) -> None:
    limit = advertised["maxPayloadSize"]
    before = snapshot()
    response = _send(limited, "POST", "/Bulk", padded(_bulk_creating(1, "over", "{pad}"), limit + 1))
    body = error(response, 413)
    assert "scimType" not in body  # RFC 7644 §3.12 names no scimType for 413
    assert snapshot() == before

    result = ok(_send(limited, "POST", "/Bulk", padded(_bulk_creating(1, "exact", "{pad}"), limit)))
    assert [int(operation["status"]) for operation in result["Operations"]] == [201]


@pytest.mark.parametrize("target", ["POST /Users", "PUT /Users/{id}", "PATCH /Users/{id}", "POST /Users/.search"])
def test_any_body_of_max_payload_size_is_served_and_one_byte_more_is_413(
    limited: ScimClient, make_user: Any, advertised: dict[str, int], snapshot: Any, target: str
) -> None:
    user = make_user("bjensen")
    method, path = target.format(id=user["id"]).split(" ")
    document = {
        "POST /Users": {"schemas": [USER], "userName": "padded", "title": "{pad}"},
        "PUT /Users/{id}": {"schemas": [USER], "userName": "bjensen", "title": "{pad}"},
        "PATCH /Users/{id}": {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "title", "value": "{pad}"}],
        },
        "POST /Users/.search": {"schemas": [SEARCH], "filter": 'title eq "{pad}"'},
    }[target]
    limit = advertised["maxPayloadSize"]
    before = snapshot()
    body = error(_send(limited, method, path, padded(document, limit + 1)), 413)
    assert "scimType" not in body
    assert snapshot() == before

    response = _send(limited, method, path, padded(document, limit))
    assert response.status_code in (200, 201), response.get_data(as_text=True)


def test_a_bulk_request_of_max_operations_is_served_and_one_more_is_413(
    limited: ScimClient, advertised: dict[str, int], snapshot: Any
) -> None:
    limit = advertised["maxOperations"]
    before = snapshot()
    body = error(limited.post("/Bulk", _bulk_creating(limit + 1, "over")), 413)
    assert "scimType" not in body
    assert str(limit) in body["detail"]
    assert snapshot() == before  # not one of the operations ran
    assert ok(limited.search("/Users", filter='userName sw "over"'))["totalResults"] == 0

    result = ok(limited.post("/Bulk", _bulk_creating(limit, "exact")))
    assert [int(operation["status"]) for operation in result["Operations"]] == [201] * limit
    assert ok(limited.search("/Users", filter='userName sw "exact"'))["totalResults"] == limit


def test_a_search_asking_more_than_max_results_gets_max_results(
    limited: ScimClient, make_user: Any, advertised: dict[str, int], snapshot: Any
) -> None:
    limit = advertised["maxResults"]
    users = [make_user(f"user{index}") for index in range(limit + 2)]
    before = snapshot()
    pages = [
        ok(limited.search("/Users", count=limit + 1)),
        ok(limited.search("/Users", count=10**9, filter='userName sw "user"')),
        ok(limited.post("/Users/.search", {"schemas": [SEARCH], "count": limit + 1})),
        ok(limited.post("/.search", {"schemas": [SEARCH], "count": limit + 1, "filter": 'userName sw "user"'})),
        ok(limited.search("/", count=limit + 1, filter='userName sw "user"')),
        ok(limited.search("/Users", cursor="", count=limit + 1)),
    ]
    for page in pages:
        assert page["itemsPerPage"] == len(page["Resources"]) == limit, page
        if "totalResults" in page:
            assert page["totalResults"] == len(users)
    assert len(ok(limited.search("/Users"))["Resources"]) == advertised["defaultPageSize"]

    # Paging past the bound reaches every resource exactly once.
    seen: list[str] = []
    while len(seen) < len(users):
        page = ok(limited.search("/Users", startIndex=len(seen) + 1, count=10**6, sortBy="userName"))
        assert 0 < page["itemsPerPage"] <= limit
        seen += [resource["id"] for resource in page["Resources"]]
    assert sorted(seen) == sorted(user["id"] for user in users)
    assert snapshot() == before


def _both_ways(client: ScimClient, scim_filter: str) -> list[Any]:
    return [
        client.search("/Users", filter=scim_filter),
        client.post("/Users/.search", {"schemas": [SEARCH], "filter": scim_filter}),
    ]


def test_a_filter_of_max_comparisons_is_served_and_one_more_is_400(client: ScimClient, make_user: Any) -> None:
    make_user("user1")
    at_limit = " or ".join(f'userName eq "user{index}"' for index in range(MAX_COMPARISONS))
    for response in _both_ways(client, at_limit):
        assert ok(response)["totalResults"] == 1
    over = at_limit + ' or emails[type eq "work"]'  # a value path counts as one, its filter too
    for response in _both_ways(client, over):
        assert str(MAX_COMPARISONS) in error(response, 400, "invalidFilter")["detail"]


def test_a_substring_of_max_length_is_served_and_one_character_more_is_400(client: ScimClient, make_user: Any) -> None:
    longest = "\U0001d518" * MAX_SUBSTRING  # 4 bytes each in UTF-8: 40,000 bytes of LIKE pattern on SQLite
    make_user("a" + longest + "b")
    for op in ("co", "sw", "ew"):
        operand = longest if op == "co" else ("a" + longest[1:] if op == "sw" else longest[1:] + "b")
        for response in _both_ways(client, f'userName {op} "{operand}"'):
            assert ok(response)["totalResults"] == 1, op
        for response in _both_ways(client, f'userName {op} "{operand}x"'):
            assert str(MAX_SUBSTRING) in error(response, 400, "invalidFilter")["detail"]


def test_a_filter_nested_32_deep_is_served_and_deeper_is_400(client: ScimClient, make_user: Any) -> None:
    make_user("bjensen")

    def nested(depth: int) -> str:
        return "not (" * depth + 'userName eq "nobody"' + ")" * depth

    for response in _both_ways(client, nested(32)):  # an even number of negations: nobody
        assert ok(response)["totalResults"] == 0
    for response in _both_ways(client, nested(31)):
        assert ok(response)["totalResults"] == 1
    for response in _both_ways(client, nested(33)):
        assert "32" in error(response, 400, "invalidFilter")["detail"]
