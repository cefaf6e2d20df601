"""A reorganisation pushed at once: 1,000 terminations in one /Bulk request, each in its own savepoint."""

from __future__ import annotations

import datetime
from typing import Any

from tests.conftest import BULK, LIFECYCLE, PATCH_OP, USER, ok
from tests.hr.conftest import HR, NOW, RELATIONSHIPS, iso, relationship, state

WORKERS = 1000
BAD = 500
"""The operation whose HR data is wrong: it fails alone, the 999 others apply."""


def _bulk(hr: HR, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = ok(hr.client.post("/Bulk", {"schemas": [BULK], "Operations": operations}))[
        "Operations"
    ]
    return result


def test_a_bulk_of_a_thousand_terminations(hr: HR) -> None:
    hires = _bulk(
        hr,
        [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"w{i}",
                "data": {
                    "schemas": [USER],
                    "userName": f"worker{i}",
                    LIFECYCLE: {"workRelationships": [relationship("E1")]},
                },
            }
            for i in range(WORKERS)
        ],
    )
    assert {operation["status"] for operation in hires} == {"201"}
    ids = [operation["location"].rsplit("/", 1)[1] for operation in hires]
    bad_before = ok(hr.client.get(f"/Users/{ids[BAD]}"))

    def termination(index: int) -> dict[str, Any]:
        when = NOW - datetime.timedelta(days=1000 if index == BAD else 1)  # before the start date: refused
        return {
            "method": "PATCH",
            "path": f"/Users/{ids[index]}",
            "data": {
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "replace", "path": f'{RELATIONSHIPS}[value eq "E1"].terminationDate', "value": iso(when)}
                ],
            },
        }

    results = _bulk(hr, [termination(i) for i in range(WORKERS)])

    assert [r["status"] for r in results] == ["200"] * BAD + ["400"] + ["200"] * (WORKERS - BAD - 1)
    assert results[BAD]["response"]["scimType"] == "invalidValue"
    assert ok(hr.client.get(f"/Users/{ids[BAD]}")) == bad_before
    for index in (0, BAD - 1, BAD + 1, WORKERS - 1):
        assert state(ok(hr.client.get(f"/Users/{ids[index]}"))) == (False, "suspended", "automatic")
    terminations = ok(hr.client.search("/LifecycleEvents", filter='action eq "terminate"', count=0))
    assert terminations["totalResults"] == WORKERS - 1
