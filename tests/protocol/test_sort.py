"""sortBy/sortOrder (RFC 7644 §3.4.2.3) in SQL, checked against scim2-models' own ordering."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import SearchRequest

from tests.conftest import ENTERPRISE, ScimClient, error, ok
from tests.protocol.test_filter import PEOPLE, USER

SORTS = [
    "userName",
    "displayName",
    "title",
    "active",
    "name.familyName",
    "emails",
    "emails.type",
    "meta.created",
    "meta.lastModified",
    "id",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager.value",
]


@pytest.fixture
def people(client: ScimClient) -> list[Any]:
    for person in PEOPLE:
        ok(client.post("/Users", {"schemas": [USER], **person}), 201)
    model = client.flask.application.extensions["scim_server"].storage.models["User"]
    return [model.model_validate(r) for r in ok(client.search("/Users", count=100))["Resources"]]


@pytest.mark.parametrize("order", ["ascending", "descending"])
@pytest.mark.parametrize("sort_by", SORTS)
def test_sort_matches_scim2_models(client: ScimClient, people: list[Any], sort_by: str, order: str) -> None:
    model = type(people[0])
    request = SearchRequest[model](sort_by=sort_by, sort_order=order)
    expected = [request.sort_value(user) for user in request.sort(people)]

    body = ok(client.search("/Users", sortBy=sort_by, sortOrder=order, count=100))

    got = [request.sort_value(model.model_validate(r)) for r in body["Resources"]]
    assert got == expected


@pytest.mark.parametrize("sort_by", ["nosuch", "name", "password", 'emails[type eq "work"]'])
def test_unsortable_attributes_are_refused(client: ScimClient, sort_by: str) -> None:
    error(client.search("/Users", sortBy=sort_by), 400)


def test_sort_order_without_sort_by_keeps_the_default_order(client: ScimClient, people: list[Any]) -> None:
    body = ok(client.search("/Users", sortOrder="descending"))
    assert body["totalResults"] == len(people)


def test_sort_at_the_root_mixes_types(client: ScimClient, people: list[Any], make_group: Any) -> None:
    make_group("Aardvarks")
    body = ok(client.search("/", sortBy="displayName"))
    names = [r.get("displayName") for r in body["Resources"]]
    present = [n for n in names if n is not None]
    assert names[: len(present)] == present
    assert present == sorted(present, key=str.lower)
