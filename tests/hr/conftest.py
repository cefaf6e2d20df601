"""HR fixtures: a server under a policy with role mappings, a clock the test sets, and HR-shaped requests."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from extensions.lifecycle.due import run_due
from scim_server.storage.sql import SqlStorage
from tests.conftest import ENTERPRISE, LIFECYCLE, USER, ScimClient, ok

NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)
RELATIONSHIPS = f"{LIFECYCLE}:workRelationships"

MAPPINGS = f"""
[[roleMappings]]
role = "finance"
filter = '{ENTERPRISE}:department eq "Finance"'

[[roleMappings]]
role = "sales"
filter = '{ENTERPRISE}:department eq "Sales"'

[[roleMappings]]
role = "staff-portal"
filter = '{RELATIONSHIPS}[status eq "active"]'
"""

ALUMNI = f"""
[[roleMappings]]
role = "alumni"
filter = '{RELATIONSHIPS}[status eq "terminated"] and not ({RELATIONSHIPS}[status eq "active"])'
"""
"""A mapping that matches terminated workers: a termination then gains a role instead of emptying the account."""


def iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def relationship(
    value: str,
    *,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    timing: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": value, "type": "employee", "legalEmployer": "Example Corp"}
    entry["startDate"] = iso(start or NOW - datetime.timedelta(days=400))
    if end is not None:
        entry["terminationDate"] = iso(end)
    if timing is not None:
        entry["roleLossTiming"] = timing
    return entry


@dataclass
class HR:
    """A server under an HR policy, whose clock the test sets."""

    client: ScimClient
    storage: SqlStorage
    now: datetime.datetime = NOW

    def at(self, moment: datetime.datetime) -> None:
        self.now = moment
        self.storage.clock = lambda: self.now

    def hire(
        self, user_name: str, *relationships: dict[str, Any], department: str | None = None, **attributes: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [USER],
            "userName": user_name,
            LIFECYCLE: {"workRelationships": list(relationships)},
            **attributes,
        }
        if department:
            body[ENTERPRISE] = {"department": department}
        return ok(self.client.post("/Users", body), 201)

    def patch(self, user: dict[str, Any], *operations: dict[str, Any], status: int = 200) -> Any:
        response = self.client.patch(f"/Users/{user['id']}", list(operations))
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    def terminate(
        self, user: dict[str, Any], value: str, when: datetime.datetime, timing: str | None = None
    ) -> dict[str, Any]:
        operations = [
            {"op": "replace", "path": f'{RELATIONSHIPS}[value eq "{value}"].terminationDate', "value": iso(when)}
        ]
        if timing:
            operations.append(
                {"op": "replace", "path": f'{RELATIONSHIPS}[value eq "{value}"].roleLossTiming', "value": timing}
            )
        return self.patch(user, *operations)

    def reverse(self, user: dict[str, Any], value: str) -> dict[str, Any]:
        return self.patch(user, {"op": "remove", "path": f'{RELATIONSHIPS}[value eq "{value}"].terminationDate'})

    def add_relationship(self, user: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
        return self.patch(user, {"op": "add", "path": RELATIONSHIPS, "value": [entry]})

    def get(self, user: dict[str, Any]) -> dict[str, Any]:
        return ok(self.client.get(f"/Users/{user['id']}"))

    def run_due(self, moment: datetime.datetime | None = None) -> int:
        return run_due(self.storage, moment or self.now)

    def events(self, user: dict[str, Any], action: str | None = None) -> list[dict[str, Any]]:
        scim_filter = f'user.value eq "{user["id"]}"' + (f' and action eq "{action}"' if action else "")
        return ok(self.client.search("/LifecycleEvents", filter=scim_filter, sortBy="meta.created", count=200)).get(
            "Resources", []
        )


def roles(resource: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["value"], r["type"]) for r in resource.get("roles", [])}


def state(resource: dict[str, Any]) -> tuple[bool, str, str | None]:
    ext = resource.get(LIFECYCLE, {})
    return resource["active"], ext.get("state"), ext.get("stateCause")


def statuses(resource: dict[str, Any]) -> dict[str, str]:
    return {r["value"]: r["status"] for r in resource.get(LIFECYCLE, {}).get("workRelationships", [])}


@pytest.fixture
def make_hr(policy_app: Any) -> Callable[..., HR]:
    def make(extra: str = "", *, client: str = "workday") -> HR:
        """``extra``: more policy; top-level keys go before the mapping tables, tables after them."""
        policy = MAPPINGS + extra if extra.lstrip().startswith("[") else extra + MAPPINGS
        scim = policy_app(policy, client)
        hr = HR(scim, scim.flask.application.extensions["scim_server"].storage)
        hr.at(NOW)
        return hr

    return make


@pytest.fixture
def hr(make_hr: Callable[..., HR]) -> HR:
    return make_hr()
