"""Replays of what identity providers send: their exact requests, their headers, their token.

Each test module is one client. A ``Replay`` sends a request the way that
client does — the body serialised as it arrives on the wire, the client's
``Content-Type`` and ``Accept``, its query flags (Entra's
``?aadOptscim062020`` on every request) — and the test then reads what the
server *stored* through a neutral client (``auditor``), never trusting the
answer alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from tests.conftest import LIFECYCLE, ScimClient, ok
from tests.lifecycle.conftest import issue

ROOT = "/scim/v2"


@dataclass
class Replay:
    """One identity provider, as it talks to this server."""

    flask: Any
    token: str
    headers: dict[str, str] = field(default_factory=dict)
    flag: str = ""
    """A query string the client appends to every request (``aadOptscim062020``)."""
    variant: str = ""
    """Which configuration of the client this is (Okta's ``OIN`` or ``AIW``)."""

    def send(self, method: str, path: str, body: Any = None, *, status: int | None = None) -> TestResponse:
        """One request as the client sends it; with ``status``, the response must have it."""
        url = ROOT + path
        if self.flag:
            url += ("&" if "?" in url else "?") + self.flag
        headers = {"Authorization": f"Bearer {self.token}", **self.headers}
        data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
        if data is None:
            headers.pop("Content-Type", None)
        response = self.flask.open(url, method=method, data=data, headers=headers)
        if status is not None:
            assert response.status_code == status, f"{method} {path}: {response.get_data(as_text=True)}"
        return response

    def json(self, method: str, path: str, body: Any = None, *, status: int = 200) -> Any:
        """The JSON answer of a request that must succeed with ``status``."""
        response = self.send(method, path, body, status=status)
        return response.get_json() if response.data else None


@pytest.fixture
def replay(app: Flask, make_token: Any) -> Callable[..., Replay]:
    """A replay for a client: its token name (recorded as the actor), headers and query flag."""

    def make(name: str, headers: dict[str, str], flag: str = "", variant: str = "") -> Replay:
        return Replay(app.test_client(), make_token(name), dict(headers), flag, variant)

    return make


@dataclass
class Auditor:
    """Reads what the server stored, as a governance tool would: plain SCIM, its own token."""

    client: ScimClient

    def user(self, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = ok(self.client.get(f"/Users/{user_id}"))
        return result

    def group(self, group_id: str) -> dict[str, Any]:
        result: dict[str, Any] = ok(self.client.get(f"/Groups/{group_id}"))
        return result

    def members(self, group_id: str) -> set[str]:
        return {member["value"] for member in self.group(group_id).get("members", [])}

    def gone(self, path: str) -> bool:
        return self.client.get(path).status_code == 404

    def events(self, user_id: str) -> list[dict[str, Any]]:
        body = ok(self.client.search("/LifecycleEvents", filter=f'user.value eq "{user_id}"', sortBy="occurred"))
        resources: list[dict[str, Any]] = body.get("Resources", [])
        return resources

    def credential(self, credential_id: str) -> dict[str, Any]:
        result: dict[str, Any] = ok(self.client.get(f"/Credentials/{credential_id}"))
        return result

    def card(self, user_id: str) -> dict[str, Any]:
        """A smart card with one valid certificate, issued to the user by the card management system."""
        return issue(self.client, {"id": user_id}, "card")

    def card_states(self, card: dict[str, Any]) -> tuple[str, str]:
        """The card's state and its certificate's."""
        stored = self.credential(card["id"])
        return stored["state"], stored["certificates"][0]["state"]

    def lifecycle(self, user_id: str) -> tuple[bool, str, str | None]:
        """``active``, the lifecycle ``state`` and its ``reason``."""
        user = self.user(user_id)
        extension = user.get(LIFECYCLE, {})
        return user["active"], extension.get("state"), extension.get("reason")

    def actions(self, user_id: str) -> list[tuple[str, str]]:
        """The user's lifecycle events as (action, actor)."""
        return [(event["action"], event["actor"]) for event in self.events(user_id)]


@pytest.fixture
def auditor(client: ScimClient) -> Auditor:
    return Auditor(client)
