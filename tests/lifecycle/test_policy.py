"""The policy file: shipped defaults, merging, errors that name the key, and where it shows."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from scim_server import create_app
from scim_server.policy import DEACTIVATION, REASONS, EndState, PolicyError, load_policy, parse_policy
from tests.cli.test_cli import run
from tests.conftest import CREDENTIAL, USER, ScimClient, ok
from tests.lifecycle.conftest import credential, lifecycle, switch


def test_shipped_defaults() -> None:
    policy = load_policy(None)
    assert policy.default_mode == "suspend"
    assert policy.default_roles == ("user",)
    assert policy.user_account_maintenance is True
    assert [r.code for r in policy.reasons] == [
        "parentalLeave",
        "leaveOfAbsence",
        "temporaryDeactivation",
        "securityReview",
        "termination",
    ]
    assert policy.deactivation["temporaryCard"] == EndState("locked", "revoked")
    assert dict(policy.approval) == {"deactivate": False, "suspend": False}


def test_a_file_merges_over_the_defaults() -> None:
    policy = parse_policy(
        {
            "defaultMode": "deactivate",
            "credentialTypes": ["card", "temporaryCard", "virtualSmartCard", "mobileId", "softToken", "badge"],
            "deactivation": {
                "card": {"credential": "locked", "certificates": "revoked"},
                "badge": {"credential": "inactive", "certificates": "valid"},
            },
            "reasons": [{"code": "sabbatical", "label": "Sabbatical", "mode": "suspend"}],
        }
    )
    assert policy.deactivation["card"] == EndState("locked", "revoked")
    assert policy.deactivation["mobileId"] == DEACTIVATION["mobileId"]
    assert policy.deactivation["badge"] == EndState("inactive", "valid")
    assert [r.code for r in policy.reasons] == ["sabbatical"]
    assert policy.mode_of(None) == "deactivate"


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"defaultMode": "vanish"}, "defaultMode"),
        ({"reasons": [{"code": "x", "mode": "explode"}]}, "reasons.0.mode"),
        ({"reasons": [{"code": "x", "mode": "suspend"}, {"code": "x", "mode": "suspend"}]}, "reasons"),
        (
            {"deactivation": {"card": {"credential": "shredded", "certificates": "onHold"}}},
            "deactivation.card.value.credential",
        ),
        ({"deactivation": {"floppy": {"credential": "inactive", "certificates": "onHold"}}}, "deactivation"),
        ({"credentialTypes": ["card", "badge"]}, "deactivation"),
        ({"suspension": {"card": {"credential": "inactive"}}}, "suspension.card.value.certificates"),
        ({"approval": {"delete": True}}, "approval.delete"),
        ({"roleMappings": [{"role": "finance", "filter": "department eq"}]}, "roleMappings.0.filter"),
        ({"userAccountMaintenance": "sometimes"}, "userAccountMaintenance"),
        ({"defaultRoleLossTiming": "never"}, "defaultRoleLossTiming"),
        ({"unknownKey": 1}, "unknownKey"),
    ],
)
def test_invalid_policies_name_the_key(document: dict[str, Any], key: str) -> None:
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        parse_policy(document)


def test_an_invalid_policy_stops_the_server(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[[roleMappings]]\nrole = "finance"\nfilter = "nosuchattribute eq \\"x\\""\n')
    with pytest.raises(PolicyError, match=r"roleMappings\.0\.filter"):
        create_app({"SCIM_DATABASE_URL": database_url, "SCIM_POLICY_FILE": str(path)})
    path.write_text("defaultMode = ")
    with pytest.raises(PolicyError, match="not valid TOML"):
        create_app({"SCIM_DATABASE_URL": database_url, "SCIM_POLICY_FILE": str(path)})


def test_policy_show_prints_the_effective_policy(database_url: str, tmp_path: Path, state: Any) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('defaultRoles = ["employee", "vpn"]\n')
    shown = tomllib.loads(run(database_url, "policy", "show", extra_env=[("SCIM_POLICY_FILE", str(path))]).stdout)
    assert shown["defaultRoles"] == ["employee", "vpn"]
    assert shown["deactivation"]["card"] == {"credential": "inactive", "certificates": "onHold"}
    assert [r["code"] for r in shown["reasons"]] == [r.code for r in REASONS]
    assert parse_policy(shown) == parse_policy({"defaultRoles": ["employee", "vpn"]})


def test_policy_show_refuses_an_invalid_file(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('defaultMode = "vanish"\n')
    result = run(database_url, "policy", "show", extra_env=[("SCIM_POLICY_FILE", str(path))], check=False)
    assert result.returncode == 1 and "defaultMode" in result.stderr and result.stdout == ""


def test_admin_policy_needs_the_admin_scope(app: Any, make_token: Any) -> None:
    flask = app.test_client()
    denied = flask.get("/admin/policy", headers={"Authorization": f"Bearer {make_token('idp', ('read', 'write'))}"})
    allowed = flask.get("/admin/policy", headers={"Authorization": f"Bearer {make_token('ops', ('admin',))}"})
    assert denied.status_code == 403
    assert allowed.status_code == 200 and allowed.get_json()["defaultMode"] == "suspend"


def test_a_policy_shapes_the_cascade(policy_app: Any) -> None:
    client: ScimClient = policy_app(
        """
defaultMode = "deactivate"
defaultRoles = ["employee"]
credentialTypes = ["card", "temporaryCard", "virtualSmartCard", "mobileId", "softToken", "badge"]

[deactivation]
badge = { credential = "locked", certificates = "revoked" }

[suspension]
mobileId = { credential = "inactive", certificates = "onHold" }
"""
    )
    user = ok(client.post("/Users", {"schemas": [USER], "userName": "bjensen"}), 201)
    badge = ok(
        client.post(
            "/Credentials", {"schemas": [CREDENTIAL], "type": "badge", "state": "active", "user": {"value": user["id"]}}
        ),
        201,
    )
    assert {r["value"] for r in user["roles"]} == {"employee"}

    after = switch(client, user, False)

    assert lifecycle(after)["state"] == "deactivated"
    assert credential(client, badge)["state"] == "locked"
