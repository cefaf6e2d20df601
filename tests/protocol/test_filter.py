"""Filters over HTTP: every operator, value paths, extensions, memberships and hostile input.

The expected result of each filter is what scim2-models' ``ScimFilter.match``
keeps of the same users, so the table needs no hand-written answers and
cannot disagree with the RFC semantics the library implements.
"""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import ScimFilter

from tests.conftest import ENTERPRISE, USER, ScimClient, error, ok

PEOPLE: list[dict[str, Any]] = [
    {
        "userName": "bjensen",
        "externalId": "EXT-1",
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": True,
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "costCenter": "4130"},
    },
    {
        "userName": "jsmith",
        "externalId": "ext-1",
        "displayName": "John Smith",
        "title": "",
        "active": False,
        "name": {"familyName": "Smith"},
        "emails": [{"value": "john@example.com"}],
        ENTERPRISE: {"employeeNumber": "42", "department": "Finance"},
    },
    {
        "userName": "Ådne_%",
        "displayName": "Ådne Øvrebø",
        "title": "100% _special_",
        "emails": [
            {"value": "adne@example.no", "type": "work"},
            {"value": "a@example.no", "type": "other", "primary": True},
        ],
        ENTERPRISE: {"department": "finance", "manager": {"value": "boss-1"}},
    },
    {
        "userName": "Straße",
        "nickName": "STRASSE",
        "active": True,
        "emails": [{"type": "work", "value": "strasse@example.de"}, {"type": "work", "value": "s2@example.de"}],
        "phoneNumbers": [{"value": "+49 30 1234"}],
    },
    {"userName": "empty"},
]

FILTERS = [
    # comparison operators on a simple case-insensitive string
    'userName eq "BJENSEN"',
    'userName ne "bjensen"',
    'userName co "ENS"',
    'userName sw "j"',
    'userName ew "SMITH"',
    'userName gt "j"',
    'userName ge "jsmith"',
    'userName lt "j"',
    'userName le "empty"',
    "userName pr",
    # unicode case folding, and LIKE wildcards that must stay literal
    'userName eq "ådne_%"',
    'userName co "_%"',
    'userName sw "Å"',
    'title co "%"',
    'title co "_s"',
    'userName eq "STRASSE"',
    'nickName eq "strasse"',
    # caseExact attributes compare exactly
    'externalId eq "EXT-1"',
    'externalId eq "ext-1"',
    'externalId co "T-"',
    # missing and empty values
    "title pr",
    "title eq null",
    "title ne null",
    'title eq ""',
    'title ne "Tour Guide"',
    "title gt null",
    "nickName pr",
    # booleans
    "active eq true",
    "active eq false",
    "active ne true",
    "active pr",
    "not (active eq true)",
    # complex single-valued attributes
    "name pr",
    "name.givenName pr",
    'name.familyName eq "JENSEN"',
    "name.givenName eq null",
    'name.formatted co "j jensen"',
    # multi-valued attributes: any value, and "no value" for ne
    'emails eq "john@example.com"',
    'emails co "EXAMPLE.COM"',
    'emails ne "john@example.com"',
    'emails.value ew ".no"',
    'emails.type eq "work"',
    "emails.type pr",
    "emails.type eq null",
    "emails.primary eq true",
    "emails pr",
    "phoneNumbers pr",
    "phoneNumbers.type eq null",
    # value paths ask every question of the same entry
    'emails[type eq "work" and value co "example.com"]',
    'emails[type eq "home" and primary eq true]',
    'emails[type eq "work" and primary eq true]',
    'emails[type eq "work" or type eq "home"]',
    'emails[not (type eq "work")]',
    "emails[type pr]",
    "emails[not (type pr)]",
    'emails[value ne "john@example.com"]',
    'emails[type eq "work"] and not (emails[primary eq true])',
    'phoneNumbers[type eq "work" and value sw "555"]',
    # extension attributes, qualified by their URN
    f'{ENTERPRISE}:department eq "finance"',
    f'{ENTERPRISE}:department ne "finance"',
    f'{ENTERPRISE}:department sw "tour"',
    f"{ENTERPRISE}:department pr",
    f'{ENTERPRISE}:employeeNumber gt "5"',
    f'{ENTERPRISE}:manager.value eq "boss-1"',
    f"{ENTERPRISE}:manager pr",
    # core attributes qualified by the core schema URN
    f'{USER}:userName eq "jsmith"',
    # logical operators, precedence and grouping
    'title pr and active eq true or userName eq "empty"',
    'title pr and (active eq true or userName eq "empty")',
    'not (userName eq "bjensen" or userName eq "jsmith")',
    'userName sw "b" or userName sw "j" or userName sw "s"',
    # meta and id columns
    'meta.created gt "2000-01-01T00:00:00Z"',
    'meta.lastModified lt "2000-01-01T00:00:00Z"',
    'meta.resourceType eq "User"',
    'meta.created co "20"',
    "id pr",
    'id eq "nope"',
    "meta.version pr",
]


@pytest.fixture
def people(client: ScimClient) -> list[Any]:
    for person in PEOPLE:
        ok(client.post("/Users", {"schemas": [USER], **person}), 201)
    return _all_users(client)


def _all_users(client: ScimClient) -> list[Any]:
    body = ok(client.search("/Users", count=1000))
    model = _user_model(client)
    return [model.model_validate(resource) for resource in body["Resources"]]


def _user_model(client: ScimClient) -> Any:
    state = client.flask.application.extensions["scim_server"]
    return state.storage.models["User"]


def _ids(body: dict[str, Any]) -> list[str]:
    return sorted(resource["id"] for resource in body.get("Resources", []))


@pytest.mark.parametrize("scim_filter", FILTERS)
def test_filter_keeps_what_the_evaluator_keeps(client: ScimClient, people: list[Any], scim_filter: str) -> None:
    model = _user_model(client)
    evaluator = ScimFilter[model](scim_filter)
    expected = sorted(user.id for user in people if evaluator.match(user))

    body = ok(client.search("/Users", filter=scim_filter, count=1000))

    assert _ids(body) == expected
    assert body["totalResults"] == len(expected)


def test_every_resource_has_a_location(client: ScimClient, people: list[Any]) -> None:
    body = ok(client.search("/Users", filter="meta.location pr"))
    assert body["totalResults"] == len(people)


def test_filters_at_the_root_cover_every_type(client: ScimClient, people: list[Any], make_group: Any) -> None:
    group = make_group("Tour Operations", members=[people[0].id])

    body = ok(
        client.post(
            "/.search",
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'displayName sw "Tour"'},
        )
    )

    assert _ids(body) == [group["id"]]


def test_filter_by_post_search(client: ScimClient, people: list[Any]) -> None:
    body = ok(
        client.post(
            "/Users/.search",
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'userName eq "jsmith"'},
        )
    )
    assert [r["userName"] for r in body["Resources"]] == ["jsmith"]


@pytest.mark.parametrize(
    "scim_filter",
    [
        'userName eq "unterminated',
        "userName eq",
        'userName xx "a"',
        "(userName pr",
        'emails[type eq "work"',
        'nosuchattribute eq "x"',
        'urn:unknown:schema:attr eq "x"',
        "active gt true",
        'active co "t"',
        'password co "secret"',
        'meta.created eq "not a date"',
        " and ".join(["not (" * 40 + "userName pr" + ")" * 40]),
    ],
)
def test_invalid_filters_are_refused_with_invalid_filter(
    client: ScimClient, people: list[Any], scim_filter: str
) -> None:
    error(client.search("/Users", filter=scim_filter), 400, "invalidFilter")


def test_parentheses_do_not_count_as_nesting(client: ScimClient, people: list[Any]) -> None:
    body = ok(client.search("/Users", filter="(" * 50 + "userName pr" + ")" * 50))
    assert body["totalResults"] == len(people)


def test_deeply_nested_filter_is_refused(client: ScimClient) -> None:
    depth = 200
    scim_filter = "not (" * depth + 'userName eq "x"' + ")" * depth
    error(client.search("/Users", filter=scim_filter), 400, "invalidFilter")


def test_filter_on_members_and_groups(client: ScimClient, make_user: Any, make_group: Any) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    admins = make_group("Admins", members=[alice["id"], bob["id"]])
    staff = make_group("Staff", members=[bob["id"], admins["id"]])

    by_member = ok(client.search("/Groups", filter=f'members.value eq "{alice["id"]}"'))
    by_value_path = ok(client.search("/Groups", filter=f'members[value eq "{admins["id"]}" and type eq "Group"]'))
    by_group = ok(client.search("/Users", filter=f'groups.value eq "{staff["id"]}"'))
    by_group_name = ok(client.search("/Users", filter='groups.display eq "admins"'))
    without_members = ok(client.search("/Groups", filter="not (members pr)"))

    assert _ids(by_member) == [admins["id"]]
    assert _ids(by_value_path) == [staff["id"]]
    assert _ids(by_group) == [bob["id"]]
    assert _ids(by_group_name) == sorted([alice["id"], bob["id"]])
    assert without_members["totalResults"] == 0


@pytest.mark.parametrize(
    ("operator", "needle", "found"),
    [("co", "x" * 5, True), ("sw", "LONG", True), ("ew", "tail", True), ("co", "absent", False)],
)
def test_substring_filters_reach_values_beyond_the_key_index(
    client: ScimClient, make_user: Any, operator: str, needle: str, found: bool
) -> None:
    """Keys past the (attribute, key) index's length are read through their own index, not lost."""
    long_user = make_user("long", displayName="long" + "x" * 700 + "tail")
    make_user("short", displayName="short")
    body = ok(client.search("/Users", filter=f'displayName {operator} "{needle}"'))
    assert [resource["id"] for resource in body["Resources"]] == ([long_user["id"]] if found else [])
