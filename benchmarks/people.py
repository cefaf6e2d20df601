"""The synthetic people the benchmark seeds, and the SCIM documents that describe them.

Deterministic (a fixed random seed), so that two runs seed the same directory
and a figure at 100,000 users is comparable with one at 10,000. The values are
shaped for the phases: unique ``userName`` (``eq`` finds one user), 50
departments (``department eq`` finds N/50), and an email with a random
six-hex-digit part, so that ``emails.value co`` on four of those digits matches
a few users whatever N is.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIFECYCLE = "urn:scim-server:schemas:extension:lifecycle:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
CREDENTIAL = "urn:scim-server:schemas:2.0:Credential"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

DEPARTMENTS = [f"Department {number:02d}" for number in range(1, 51)]
GIVEN_NAMES = ["ada", "alan", "anna", "ben", "carla", "dan", "eva", "farid", "grace", "hugo", "ines", "jon", "kim"]
GIVEN_NAMES += ["lea", "li", "marta", "nia", "omar", "pia", "raj", "sara", "tom", "ula", "vera", "wei", "zoe"]
FAMILY_NAMES = ["smith", "jones", "garcia", "muller", "rossi", "novak", "kim", "tanaka", "silva", "dubois"]
FAMILY_NAMES += ["jensen", "kowalski", "ivanova", "nguyen", "haddad", "okafor", "larsen", "moreau", "costa"]


@dataclass(frozen=True)
class Person:
    user_name: str
    given: str
    family: str
    email: str
    department: str
    employee_number: str
    tag: str
    """The random six hex digits of the email, where ``co`` fragments come from."""

    def user(self, title: str | None = None, relationship: str | None = None) -> dict[str, Any]:
        """The User document: what seeding POSTs, and (with a title) the whole user a PUT sends."""
        document: dict[str, Any] = {
            "schemas": [CORE, ENTERPRISE],
            "userName": self.user_name,
            "name": {"givenName": self.given.title(), "familyName": self.family.title()},
            "emails": [{"value": self.email, "type": "work", "primary": True}],
            ENTERPRISE: {"department": self.department, "employeeNumber": self.employee_number},
        }
        if title is not None:
            document["active"] = True
            document["title"] = title
        if relationship is not None:
            document["schemas"].append(LIFECYCLE)
            document[LIFECYCLE] = {
                "workRelationships": [{"value": relationship, "type": "employee", "startDate": "2020-01-01T00:00:00Z"}]
            }
        return document


def people(count: int, prefix: str = "", seed: int = 20260101) -> list[Person]:
    rng = random.Random(f"{seed}/{prefix}")
    result = []
    for index in range(count):
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        tag = f"{rng.getrandbits(24):06x}"
        result.append(
            Person(
                user_name=f"{prefix}{given}.{family}.{index}@example.com",
                given=given,
                family=family,
                email=f"{given}.{family}.{tag}@example.com",
                department=rng.choice(DEPARTMENTS),
                employee_number=f"{prefix}{index:07d}",
                tag=tag,
            )
        )
    return result


def bulk(operations: Iterable[dict[str, Any]]) -> bytes:
    return json.dumps({"schemas": [BULK_REQUEST], "Operations": list(operations)}).encode()


def bulk_create_users(persons: Sequence[Person], relationship: str | None = None) -> bytes:
    return bulk(
        {"method": "POST", "path": "/Users", "bulkId": f"u{index}", "data": person.user(relationship=relationship)}
        for index, person in enumerate(persons)
    )


def bulk_create_credentials(user_ids: Sequence[str], start: int) -> bytes:
    """One card with one certificate per user: what the PATCH ``active=false`` cascade puts on hold."""
    return bulk(
        {
            "method": "POST",
            "path": "/Credentials",
            "bulkId": f"c{start + index}",
            "data": {
                "schemas": [CREDENTIAL],
                "type": "card",
                "state": "active",
                "serialNumber": f"SN-{start + index}",
                "user": {"value": user_id},
                "certificates": [{"serialNumber": f"C-{start + index}", "issuer": "CN=Issuing CA", "state": "valid"}],
            },
        }
        for index, user_id in enumerate(user_ids)
    )


def bulk_terminate(user_ids: Sequence[str], relationship: str, date: str = "2026-01-01T00:00:00Z") -> bytes:
    """The HR termination of one work relationship per user, as an HR integration sends it through /Bulk."""
    path = f'{LIFECYCLE}:workRelationships[value eq "{relationship}"].terminationDate'
    return bulk(
        {
            "method": "PATCH",
            "path": f"/Users/{user_id}",
            "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": date}]},
        }
        for user_id in user_ids
    )


def patch(*operations: dict[str, Any]) -> bytes:
    return json.dumps({"schemas": [PATCH_OP], "Operations": list(operations)}).encode()


def group(display_name: str) -> bytes:
    return json.dumps({"schemas": [GROUP], "displayName": display_name, "members": []}).encode()


POLICY = f"""\
# The shipped policy plus a role mapping, so that a termination also recomputes mapped roles.
[[roleMappings]]
role = "staff"
filter = '{LIFECYCLE}:workRelationships[status eq "active"]'
"""
