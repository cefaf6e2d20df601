"""Bad HR data gets 400 invalidValue and changes nothing; status is the server's."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.conftest import LIFECYCLE, USER, error, ok
from tests.hr.conftest import HR, NOW, RELATIONSHIPS, iso, relationship, statuses

BAD = [
    pytest.param([relationship("E1"), relationship("E1")], "used twice", id="duplicate id"),
    pytest.param(
        [relationship("E1", start=NOW, end=NOW - datetime.timedelta(days=1))],
        "before it starts",
        id="ends before it starts",
    ),
    pytest.param([{"value": "E1", "startDate": "next tuesday"}], "valid datetime", id="unparsable date"),
    pytest.param([{"type": "employee"}], "'value'", id="no id"),
    pytest.param([{"value": "E1", "type": "astronaut"}], "'contingentWorker'", id="unknown type"),
    pytest.param([{"value": "E1", "roleLossTiming": "whenever"}], "'dayAfterTermination'", id="unknown timing"),
]


@pytest.mark.parametrize(("relationships", "detail"), BAD)
def test_bad_hr_data_on_creation(hr: HR, snapshot: Any, relationships: list[dict[str, Any]], detail: str) -> None:
    before = snapshot()
    body = error(
        hr.client.post("/Users", {"schemas": [USER], "userName": "x", LIFECYCLE: {"workRelationships": relationships}}),
        400,
        "invalidValue",
    )
    assert detail in body["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(("relationships", "detail"), BAD)
def test_bad_hr_data_on_update(hr: HR, snapshot: Any, relationships: list[dict[str, Any]], detail: str) -> None:
    user = hr.hire("bjensen", relationship("E0"))
    before = snapshot()
    body = error(
        hr.client.patch(f"/Users/{user['id']}", [{"op": "replace", "path": RELATIONSHIPS, "value": relationships}]),
        400,
        "invalidValue",
    )
    assert detail in body["detail"]
    assert snapshot() == before


def test_status_is_derived_and_read_only(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    assert statuses(user) == {"E1": "active"}
    error(
        hr.client.patch(
            f"/Users/{user['id']}",
            [{"op": "replace", "path": f'{RELATIONSHIPS}[value eq "E1"].status', "value": "terminated"}],
        ),
        400,
        "mutability",
    )
    echoed = {k: v for k, v in user.items() if k not in ("id", "meta")}
    echoed[LIFECYCLE]["workRelationships"][0]["status"] = "terminated"
    assert statuses(ok(hr.client.put(f"/Users/{user['id']}", echoed))) == {"E1": "active"}


def test_filters_on_relationships(hr: HR) -> None:
    staying = hr.hire("staying", relationship("E1"))
    leaving = hr.hire("leaving", relationship("E2"))
    hr.terminate(leaving, "E2", NOW - datetime.timedelta(hours=1))
    body = ok(hr.client.search("/Users", filter=f'{RELATIONSHIPS}[status eq "terminated"]'))
    assert [r["id"] for r in body["Resources"]] == [leaving["id"]]
    body = ok(hr.client.search("/Users", filter=f'{RELATIONSHIPS}[terminationDate lt "{iso(NOW)}"]'))
    assert [r["id"] for r in body["Resources"]] == [leaving["id"]]
    assert staying["id"] not in [r["id"] for r in body["Resources"]]
