"""Reads are rendered from stored documents (``scim_server/rendering.py``); they must say what the library says.

For resources holding every kind of attribute — complex, multi-valued, extensions, references, derived
memberships — and for every shape of ``attributes`` / ``excludedAttributes``, the body the server sends
equals what scim2-server's own pipeline (``storage.get`` → ``publish`` → ``model_dump``) makes of the
same resource. A difference in what is returned, how empty values go, or how references are located
fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from scim2_models import ResponseParameters
from scim2_server.conditions import Conditions
from scim2_server.utils import parametrize

from tests.conftest import ENTERPRISE, GROUP, LIFECYCLE, USER, ScimClient, ok
from tests.lifecycle.conftest import issue

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def resources(client: ScimClient, make_user: Any) -> dict[str, dict[str, Any]]:
    boss = make_user("boss")
    user = make_user(
        "bjensen",
        externalId="701984",
        name={"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
        displayName="Babs",
        emails=[
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        phoneNumbers=[{"value": "555-555-8377", "type": "work"}],
        addresses=[{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}],
        roles=[{"value": "guide"}],
        schemas=[USER, ENTERPRISE, LIFECYCLE],
        **{
            ENTERPRISE: {"department": "Tour Operations", "manager": {"value": boss["id"]}},
            LIFECYCLE: {
                "workRelationships": [{"value": "E1", "type": "employee", "startDate": "2020-01-01T00:00:00Z"}]
            },
        },
    )
    group = ok(
        client.post("/Groups", {"schemas": [GROUP], "displayName": "Tour Guides", "members": [{"value": user["id"]}]}),
        201,
    )
    for name in ("Drivers", "Archivists"):  # more groups, in the order they were created
        ok(client.post("/Groups", {"schemas": [GROUP], "displayName": name, "members": [{"value": user["id"]}]}), 201)
    card = issue(client, user, "card", certificates=("valid", "onHold"))
    return {"User": user, "Group": group, "Credential": card}


PARAMETERS = [
    {},
    {"attributes": "userName"},
    {"attributes": "emails.value,name.givenName"},
    {"attributes": f"{ENTERPRISE}:department,{ENTERPRISE}:manager"},
    {"attributes": "groups"},
    {"attributes": "meta.lastModified"},
    {"attributes": f"{CORE}:userName"},
    {"excludedAttributes": "emails"},
    {"excludedAttributes": "meta"},
    {"excludedAttributes": "groups,roles"},
    {"excludedAttributes": ENTERPRISE},
    {"excludedAttributes": "name.givenName,emails.type"},
    {"excludedAttributes": f"{LIFECYCLE}:workRelationships"},
]
GROUP_PARAMETERS = [
    {},
    {"excludedAttributes": "members"},
    {"attributes": "members.value"},
    {"attributes": "displayName"},
]
CREDENTIAL_PARAMETERS = [
    {},
    {"attributes": "user"},
    {"excludedAttributes": "certificates.state"},
    {"attributes": "certificates"},
]


def _library(app: Flask, kind: str, resource_id: str, query: dict[str, str]) -> dict[str, Any]:
    """The body scim2-server's own query pipeline makes of the stored resource."""
    api = app.extensions["scim"]["scim"]
    service, storage = api.service, api.storage
    resource_type = service.get_resource_type(kind)
    parameters = parametrize(ResponseParameters, service.get_model(resource_type)).model_validate(query)
    with app.test_request_context(), service.provider, storage.operation():
        resource = storage.get(resource_type, resource_id)
        response = super(type(service), service).query_response(
            "http://localhost/scim/v2", resource, parameters, Conditions()
        )
    body: dict[str, Any] = json.loads(json.dumps(response.body))
    return body


@pytest.mark.parametrize(
    ("kind", "query"),
    [("User", p) for p in PARAMETERS]
    + [("Group", p) for p in GROUP_PARAMETERS]
    + [("Credential", p) for p in CREDENTIAL_PARAMETERS],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else value,
)
def test_a_read_says_what_the_library_says(
    app: Flask, client: ScimClient, resources: dict[str, dict[str, Any]], kind: str, query: dict[str, str]
) -> None:
    resource = resources[kind]
    endpoint = {"User": "Users", "Group": "Groups", "Credential": "Credentials"}[kind]

    rendered = ok(client.get(f"/{endpoint}/{resource['id']}", query_string=query))

    assert rendered == _library(app, kind, resource["id"], query)


@pytest.mark.parametrize("query", [{}, {"attributes": "userName,groups"}, {"excludedAttributes": "emails,meta"}])
def test_a_search_says_what_the_library_says(
    app: Flask, client: ScimClient, resources: dict[str, dict[str, Any]], query: dict[str, str]
) -> None:
    rendered = ok(client.search("/Users", sortBy="userName", **query))

    api = app.extensions["scim"]["scim"]
    service, storage = api.service, api.storage
    resource_type = service.get_resource_type("User")
    request, _position = service.read_search_query([resource_type], {"sortBy": "userName", **query})
    with app.test_request_context(), service.provider, storage.operation():
        page = storage.search([resource_type], request)
        library = super(type(service), service).search_response(
            "http://localhost/scim/v2", [resource_type], page, request
        )
    assert rendered == json.loads(json.dumps(library.body))
    assert [r["userName"] for r in rendered["Resources"] if "userName" in r] in ([], ["bjensen", "boss"])
