"""Approvals (source 000 option): a second principal decides; the requester cannot, but may cancel."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.cli.test_cli import run
from tests.conftest import USER, ScimClient, error, ok
from tests.lifecycle.conftest import credential, events, issue, lifecycle, switch

POLICY = """
[approval]
deactivate = true
"""


@pytest.fixture
def hr(policy_app: Any) -> ScimClient:
    return policy_app(POLICY, "workday")


@pytest.fixture
def admin(hr: ScimClient, make_token: Any) -> Any:
    """Calls the admin API of the same application with another client's token."""

    def call(
        method: str,
        path: str,
        client: str = "security-officer",
        scopes: tuple[str, ...] = ("approve",),
        json: Any = None,
    ) -> Any:
        flask: FlaskClient = hr.flask
        return flask.open(
            f"/admin{path}", method=method, json=json, headers={"Authorization": f"Bearer {make_token(client, scopes)}"}
        )

    return call


@pytest.fixture
def requested(hr: ScimClient) -> tuple[dict[str, Any], dict[str, Any]]:
    user = ok(hr.post("/Users", {"schemas": [USER], "userName": "bjensen", "roles": [{"value": "guide"}]}), 201)
    card = issue(hr, user, "card")
    after = switch(hr, user, False, "parentalLeave")
    return after, card


def test_a_request_waits_and_changes_nothing(hr: ScimClient, requested: Any) -> None:
    user, card = requested
    pending = lifecycle(user)["pendingApproval"]
    assert (user["active"], lifecycle(user)["state"]) == (True, "active")
    assert (pending["action"], pending["reason"], pending["requestedBy"]) == ("deactivate", "parentalLeave", "workday")
    assert {r["value"] for r in user["roles"]} == {"guide", "user"}
    assert credential(hr, card)["state"] == "active"
    assert [e["action"] for e in events(hr, user)] == ["approvalRequested"]
    again = switch(hr, user, False, "parentalLeave")  # a sync client repeating itself
    assert lifecycle(again)["pendingApproval"] == pending
    assert len(events(hr, user)) == 1


def test_approval_by_another_principal_performs_the_transition(hr: ScimClient, admin: Any, requested: Any) -> None:
    user, card = requested
    approval_id = lifecycle(user)["pendingApproval"]["approvalId"]

    listed = admin("GET", "/approvals?status=pending")
    response = admin("POST", f"/approvals/{approval_id}/approve", json={"comment": "confirmed with HR"})

    assert [a["id"] for a in listed.get_json()] == [approval_id]
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "approved" and response.get_json()["decidedBy"] == "security-officer"
    after = ok(hr.get(f"/Users/{user['id']}"))
    assert (after["active"], lifecycle(after)["state"], lifecycle(after)["reason"]) == (
        False,
        "deactivated",
        "parentalLeave",
    )
    assert "pendingApproval" not in lifecycle(after) and "roles" not in after
    assert credential(hr, card)["state"] == "inactive"
    trail = events(hr, user)
    assert [e["action"] for e in trail] == ["approvalRequested", "approvalGranted", "deactivate"]
    assert trail[1]["actor"] == "security-officer" and trail[2]["actor"] == "workday"
    assert trail[2]["approvalId"] == approval_id
    assert admin("GET", "/approvals?status=pending").get_json() == []


def test_the_requester_cannot_approve_its_own_request(hr: ScimClient, admin: Any, requested: Any) -> None:
    user, _ = requested
    approval_id = lifecycle(user)["pendingApproval"]["approvalId"]
    response = admin("POST", f"/approvals/{approval_id}/approve", client="workday", scopes=("read", "write", "approve"))
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    assert ok(hr.get(f"/Users/{user['id']}"))["active"] is True


def test_approving_needs_the_approve_scope(admin: Any, requested: Any) -> None:
    user, _ = requested
    approval_id = lifecycle(user)["pendingApproval"]["approvalId"]
    assert admin("GET", "/approvals", scopes=("read",)).status_code == 403
    assert admin("POST", f"/approvals/{approval_id}/approve", scopes=("read", "write")).status_code == 403


def test_rejection_keeps_the_user(hr: ScimClient, admin: Any, requested: Any) -> None:
    user, _card = requested
    approval_id = lifecycle(user)["pendingApproval"]["approvalId"]
    assert admin("POST", f"/approvals/{approval_id}/reject").get_json()["status"] == "rejected"
    after = ok(hr.get(f"/Users/{user['id']}"))
    assert after["active"] is True and "pendingApproval" not in lifecycle(after)
    assert [e["action"] for e in events(hr, user)] == ["approvalRequested", "approvalRejected"]
    second = admin("POST", f"/approvals/{approval_id}/approve")
    assert second.status_code == 409 and second.get_json()["error"] == "already_decided"


def test_the_requester_may_cancel(hr: ScimClient, admin: Any, requested: Any) -> None:
    user, _ = requested
    approval_id = lifecycle(user)["pendingApproval"]["approvalId"]
    assert admin("POST", f"/approvals/{approval_id}/cancel").status_code == 403  # not the requester
    response = admin("POST", f"/approvals/{approval_id}/cancel", client="workday", scopes=("write",))
    assert response.get_json()["status"] == "cancelled"
    assert "pendingApproval" not in lifecycle(ok(hr.get(f"/Users/{user['id']}")))


def test_a_different_request_while_one_is_pending_is_a_conflict(hr: ScimClient, requested: Any, snapshot: Any) -> None:
    user, _ = requested
    before = snapshot()
    response = hr.patch(
        f"/Users/{user['id']}",
        [
            {
                "op": "replace",
                "value": {
                    "active": False,
                    "urn:scim-server:schemas:extension:lifecycle:2.0:User:reason": "termination",
                },
            }
        ],
    )
    error(response, 409)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/approvals/nope/approve", None, 404),
        ("/approvals?status=maybe", None, 400),
        ("/approvals/x/approve", {"unexpected": 1}, 400),
    ],
)
def test_admin_errors_are_json(admin: Any, path: str, body: Any, status: int) -> None:
    response = admin("GET" if "?" in path else "POST", path, json=body)
    assert response.status_code == status
    assert set(response.get_json()) == {"error", "detail"}


def test_admin_without_token_is_401(hr: ScimClient) -> None:
    response = hr.flask.get("/admin/approvals")
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_cli_lists_and_approves(database_url: str, tmp_path: Any, hr: ScimClient, requested: Any) -> None:
    user, _ = requested
    approval_id = lifecycle(user)["pendingApproval"]["approvalId"]
    policy = tmp_path / "cli-policy.toml"
    policy.write_text(POLICY)
    env = ("SCIM_POLICY_FILE", str(policy))
    listing = run(database_url, "approvals", "list", extra_env=[env]).stdout
    assert approval_id in listing and "workday" in listing
    refused = run(database_url, "approvals", "approve", approval_id, "--by", "workday", extra_env=[env], check=False)
    assert refused.returncode == 1 and "requester" in refused.stderr
    assert "approved" in run(database_url, "approvals", "approve", approval_id, "--by", "ciso", extra_env=[env]).stdout
    assert ok(hr.get(f"/Users/{user['id']}"))["active"] is False
