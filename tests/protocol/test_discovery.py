"""Discovery (RFC 7644 §4), generated from the models the server validates with, readable without a token."""

from __future__ import annotations

from tests.conftest import CREDENTIAL, ENTERPRISE, EVENT, GROUP, LIFECYCLE, USER, ScimClient, error, ok


def test_service_provider_config_announces_what_is_enforced(anonymous: ScimClient, state: object) -> None:
    body = ok(anonymous.get("/ServiceProviderConfig"))
    settings = state.settings  # type: ignore[attr-defined]
    assert body["bulk"] == {
        "supported": True,
        "maxOperations": settings.bulk_max_operations,
        "maxPayloadSize": settings.max_payload_size,
    }
    assert body["filter"] == {"supported": True, "maxResults": settings.max_results}
    assert body["etag"]["supported"] and body["sort"]["supported"] and body["patch"]["supported"]
    assert body["changePassword"]["supported"] is False
    assert body["pagination"]["cursor"] and body["pagination"]["index"]
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_resource_types(anonymous: ScimClient) -> None:
    body = ok(anonymous.get("/ResourceTypes"))
    by_name = {r["name"]: r for r in body["Resources"]}
    assert by_name["User"]["endpoint"] == "/Users"
    assert by_name["User"]["schemaExtensions"] == [
        {"schema": ENTERPRISE, "required": False},
        {"schema": LIFECYCLE, "required": False},
    ]
    assert by_name["Credential"]["endpoint"] == "/Credentials"
    assert by_name["LifecycleEvent"]["endpoint"] == "/LifecycleEvents"
    assert by_name["Group"]["schema"] == GROUP
    assert ok(anonymous.get("/ResourceTypes/User"))["schema"] == USER


def test_schemas_describe_every_model(anonymous: ScimClient) -> None:
    ids = {s["id"] for s in ok(anonymous.get("/Schemas"))["Resources"]}
    assert {USER, GROUP, ENTERPRISE, LIFECYCLE, CREDENTIAL, EVENT} <= ids
    user = ok(anonymous.get(f"/Schemas/{USER}"))
    user_name = next(a for a in user["attributes"] if a["name"] == "userName")
    assert user_name["uniqueness"] == "server" and user_name["caseExact"] is False


def test_discovery_refuses_filters(anonymous: ScimClient) -> None:
    error(anonymous.get("/Schemas", query_string={"filter": 'id eq "x"'}), 403)
