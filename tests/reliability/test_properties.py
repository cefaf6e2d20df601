"""Hostile input, generated: whatever a client sends, the answer is never a 5xx, every 4xx is a SCIM error,
and a refused request changes nothing.

Each test is one target — filters, PATCH of a user, PATCH of a group, user
bodies for POST and PUT, deeply nested JSON, query parameters — and runs
``SCIM_PROPERTY_EXAMPLES`` generated requests (10,000 unless told otherwise:
``SCIM_PROPERTY_EXAMPLES=200 pytest tests/reliability/test_properties.py``
for a quick look). The inputs mix what the grammar allows with what it does
not: every operator, attribute paths with extension URNs and value paths,
strings with NUL, lone surrogates, quotes, right-to-left marks, combining
characters and emoji, numbers huge, negative and fractional, dates real and
impossible, nesting with and/or/not and parentheses, random JSON where a
value should be, and truncated or mangled variants of all of it.

"Changes nothing" is checked after every request against a fingerprint of
the database — counts, versions, document sizes, value rows, memberships,
approvals, scheduled terminations, tokens — read in one statement, so that
10,000 examples stay affordable; a successful write moves the baseline.
"""

from __future__ import annotations

import functools
import json
import os
import string
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from werkzeug.test import TestResponse

from tests.conftest import ENTERPRISE, GROUP, LIFECYCLE, PATCH_OP, SCIM, USER, ScimClient, ok

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")  # of the composed strategies, once each

EXAMPLES = int(os.environ.get("SCIM_PROPERTY_EXAMPLES", "10000"))
"""Generated requests per target."""

PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

FINGERPRINT = text(
    """
    SELECT
      (SELECT count(*) FROM scim_resource),
      (SELECT coalesce(sum(version), 0) FROM scim_resource),
      (SELECT coalesce(max(pk), 0) FROM scim_resource),
      (SELECT max(last_modified) FROM scim_resource),
      (SELECT coalesce(sum(length(CAST(data AS TEXT))), 0) FROM scim_resource),
      (SELECT count(*) FROM scim_value),
      (SELECT count(num) FROM scim_value),
      (SELECT coalesce(sum(length(key)), 0) FROM scim_value),
      (SELECT count(*) FROM scim_member),
      (SELECT count(*) FROM lifecycle_approval),
      (SELECT count(*) FROM lifecycle_due),
      (SELECT count(*) FROM scim_token WHERE revoked IS NULL)
    """
)
"""What a write would move: one statement, a few milliseconds at most on the small database of a target."""

FORGET = [
    text("DELETE FROM scim_resource WHERE pk > :newest"),  # index rows and memberships follow (ON DELETE CASCADE)
    text("DELETE FROM lifecycle_due WHERE user_id NOT IN (SELECT id FROM scim_resource)"),
    text("DELETE FROM lifecycle_approval WHERE user_id NOT IN (SELECT id FROM scim_resource)"),
]


# -- Strategies --------------------------------------------------------------

HOSTILE_CHARACTERS = ["\x00", "\ud800", "\udfff", "\udbff\udc00"]
"""Refused wherever they appear (PostgreSQL stores neither NUL nor lone surrogates): kept rare, so that the
rest of an example still reaches the code behind the validation."""

SPECIAL_CHARACTERS = [
    '"',
    "\\",
    "'",
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u05d0",  # Hebrew alef
    "\u0627",  # Arabic alef
    "e\u0301",  # e and a combining acute accent
    "\u0301",  # a lone combining mark
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",  # a family emoji (zero-width joiners)
    "\U0001f600",
    "\ufeff",
    "\u200b",
    "\uffff",
    "ß",
    "İ",
    "ﬃ",
    "%",
    "_",
    "*",
    "[",
    "]",
    "(",
    ")",
    ".",
    ":",
    " ",
    "\n",
    "\t",
]

characters = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits),
    st.sampled_from(string.ascii_letters + string.digits),
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    st.sampled_from(SPECIAL_CHARACTERS),
)
hostile_characters = st.one_of(characters, st.characters(categories=["Cs"]), st.sampled_from(HOSTILE_CHARACTERS))
clean_texts = st.lists(characters, max_size=24).map("".join)  # some "characters" are clusters of several
texts = st.one_of(*[clean_texts] * 7, st.lists(hostile_characters, max_size=24).map("".join))
long_texts = st.one_of(
    st.builds(lambda piece, times: piece * times, texts, st.integers(20, 200)),
    # just above the bounds: MAX_SUBSTRING characters, and SQLite's 50,000 bytes of LIKE pattern
    st.sampled_from(["ΐ" * 10_001, "\U0001d518" * 12_501]),
)
strings = st.one_of(
    texts,
    texts,
    texts,
    long_texts,
    st.sampled_from(
        [
            "",
            "bjensen",
            "BJENSEN",
            "work",
            "2026-01-01T00:00:00Z",
            "9999999-01-01T00:00:00Z",
            "2026-13-45T99:99:99Z",
            "parentalLeave",
            "' OR 1=1 --",
            "%_%",
        ]
    ),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, strings)

USER_NAMES = [
    "id",
    "externalId",
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "meta",
    "schemas",
    ENTERPRISE,
    LIFECYCLE,
    "urn:example:unknown:2.0:User",
]
SUB_NAMES = [
    "value",
    "type",
    "primary",
    "display",
    "$ref",
    "givenName",
    "familyName",
    "formatted",
    "postalCode",
    "country",
    "department",
    "manager",
    "employeeNumber",
    "reason",
    "locked",
    "state",
    "workRelationships",
    "startDate",
    "terminationDate",
    "roleLossTiming",
    "status",
    "legalEmployer",
    "nosuch",
]
keys = st.one_of(st.sampled_from(USER_NAMES + SUB_NAMES), texts)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=12,
)

USER_FILTER_PATHS = [
    "userName",
    "id",
    "externalId",
    "displayName",
    "nickName",
    "title",
    "userType",
    "active",
    "locale",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "phoneNumbers.value",
    "addresses.postalCode",
    "roles.value",
    "roles.type",
    "groups.value",
    "groups.display",
    "x509Certificates.value",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    "meta.version",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:manager.value",
    f"{USER}:userName",
    f"{USER}:name.givenName",
    f"{USER}:emails.value",
    f"{LIFECYCLE}:state",
    f"{LIFECYCLE}:reason",
    f"{LIFECYCLE}:locked",
    f"{LIFECYCLE}:stateChanged",
    f"{LIFECYCLE}:workRelationships.value",
    f"{LIFECYCLE}:workRelationships.terminationDate",
    f"{LIFECYCLE}:workRelationships.status",
    f"{LIFECYCLE}:pendingApproval.action",
]
ODD_FILTER_PATHS = [
    "password",
    "name",
    "members",
    "members.value",
    "meta",
    "meta.location",
    "schemas",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:nosuch",
    f"{GROUP}:displayName",
    "urn:example:unknown:2.0:User:x",
    "action",
    "user.value",
    "certificates.state",
    "occurred",
    "nosuch",
    "name.nosuch",
    "userName.value",
]
VALUE_PATHS = {
    "emails": ["value", "type", "primary", "display"],
    "phoneNumbers": ["value", "type", "primary"],
    "addresses": ["postalCode", "country", "type", "formatted"],
    "roles": ["value", "type", "primary", "display"],
    "groups": ["value", "display", "type"],
    "x509Certificates": ["value"],
    f"{LIFECYCLE}:workRelationships": ["value", "type", "status", "startDate", "terminationDate", "legalEmployer"],
}
ODD_MULTI_VALUED = ["members", "certificates", f"{ENTERPRISE}:manager", "name", "userName", "nosuch"]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"]
ODD_OPERATORS = ["EQ", "Co", "gE", "pr", "xx", "", "=="]
LOGICAL = ["and", "or"]
ODD_LOGICAL = ["AND", "Or", "&&", "||", ""]

identifiers = st.from_regex(r"[A-Za-z$_][A-Za-z0-9$_-]{0,12}", fullmatch=True)
odd_attribute_paths = st.one_of(
    st.sampled_from(ODD_FILTER_PATHS),
    identifiers,
    st.builds(lambda a, b: f"{a}.{b}", identifiers, st.sampled_from(SUB_NAMES)),
    st.builds(lambda a, b: f"urn:{a}:{b}", identifiers, identifiers),
)
attribute_paths = st.one_of(*[st.sampled_from(USER_FILTER_PATHS)] * 4, odd_attribute_paths)

well_formed_values = st.one_of(
    strings.map(json.dumps),
    strings.map(lambda value: json.dumps(value, ensure_ascii=False)),
    numbers.map(str),
    st.sampled_from(["true", "false", "null"]),
    st.datetimes().map(lambda moment: json.dumps(moment.isoformat() + "Z")),
)


@st.composite
def odd_string_literals(draw: Any) -> str:
    value = draw(strings)
    style = draw(st.integers(0, 2))
    if style == 0:
        return f'"{value}"'  # unescaped: quotes and backslashes as they come
    if style == 1:
        return value  # unquoted
    return '"' + value.replace('"', "") + ('"' if draw(st.booleans()) else "")


odd_values = st.one_of(
    odd_string_literals(),
    st.floats().map(repr),
    st.sampled_from(
        [
            "True",
            "NULL",
            "1e400",
            "-1e400",
            "-0",
            "01",
            "1.",
            ".5",
            "0x10",
            "NaN",
            "Infinity",
            '"2026-01-01"',
            '"9999-12-31T23:59:59.999999999+14:00"',
            '"0000-00-00T00:00:00Z"',
            '"9999999-01-01T00:00:00Z"',
        ]
    ),
)


def comparisons(paths: st.SearchStrategy[str], odd: bool) -> st.SearchStrategy[str]:
    operators = st.sampled_from(OPERATORS + ODD_OPERATORS) if odd else st.sampled_from(OPERATORS)
    values = st.one_of(well_formed_values, odd_values) if odd else well_formed_values
    return st.one_of(
        *[st.builds(lambda path, op, value: f"{path} {op} {value}", paths, operators, values)] * 4,
        paths.map(lambda path: f"{path} pr"),
    )


def combined(atoms: st.SearchStrategy[str], max_leaves: int, odd: bool) -> st.SearchStrategy[str]:
    logical = st.sampled_from(LOGICAL + ODD_LOGICAL) if odd else st.sampled_from(LOGICAL)
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.builds(lambda a, op, b: f"{a} {op} {b}", inner, logical, inner),
            inner.map(lambda expression: f"not ({expression})"),
            inner.map(lambda expression: f"({expression})"),
            *([inner.map(lambda expression: f"not {expression}")] if odd else []),
        ),
        max_leaves=max_leaves,
    )


def well_formed_value_paths() -> st.SearchStrategy[str]:
    return st.one_of(
        *[
            combined(comparisons(st.sampled_from(subs), odd=False), 3, odd=False).map(
                lambda inner, attribute=attribute: f"{attribute}[{inner}]"
            )
            for attribute, subs in VALUE_PATHS.items()
        ]
    )


odd_value_paths = st.builds(
    lambda attribute, inner, sub: f"{attribute}[{inner}]{sub}",
    st.one_of(st.sampled_from(ODD_MULTI_VALUED), st.sampled_from(sorted(VALUE_PATHS)), attribute_paths),
    combined(comparisons(st.one_of(st.sampled_from(SUB_NAMES), attribute_paths), odd=True), 4, odd=True),
    st.sampled_from(["", ".value", ".type", ".nosuch", "[x]"]),
)
value_paths = st.one_of(well_formed_value_paths(), odd_value_paths)
sub_filters = combined(comparisons(st.one_of(st.sampled_from(SUB_NAMES), attribute_paths), odd=True), 4, odd=True)


@st.composite
def mangled(draw: Any, source: st.SearchStrategy[str]) -> str:
    """A string cut, spliced or repeated: what a broken client or a fuzzer sends."""
    value = draw(source)
    if not value:
        return value
    at = draw(st.integers(0, len(value)))
    how = draw(st.integers(0, 3))
    if how == 0:
        return value[:at]
    if how == 1:
        return value[:at] + draw(texts) + value[at:]
    if how == 2:
        return value[:at] + value[at + 1 :]
    return value * draw(st.integers(2, max(2, min(50, 100_000 // len(value)))))


well_formed_filters = combined(
    st.one_of(*[comparisons(st.sampled_from(USER_FILTER_PATHS), odd=False)] * 3, well_formed_value_paths()),
    10,
    odd=False,
)
odd_filters = combined(st.one_of(comparisons(attribute_paths, odd=True), value_paths), 10, odd=True)
filters = st.one_of(
    *[well_formed_filters] * 6,
    odd_filters,
    odd_filters,
    mangled(well_formed_filters),
    texts,
    st.builds(lambda depth, inner: "(" * depth + inner + ")" * depth, st.integers(1, 200), well_formed_filters),
    st.builds(lambda depth, inner: "not (" * depth + inner + ")" * depth, st.integers(1, 60), well_formed_filters),
    st.builds(
        lambda width, op, inner: f" {op} ".join([inner] * width),
        st.sampled_from([2, 3, 10, 64, 65, 256, 1000]),  # around MAX_COMPARISONS, and far beyond
        st.sampled_from(LOGICAL),
        st.builds(
            lambda path, op, value: f"{path} {op} {json.dumps(value)}",
            st.sampled_from(USER_FILTER_PATHS),
            st.sampled_from(OPERATORS),
            clean_texts,
        ),
    ),
)
"""Filters: mostly what the grammar allows (which may still name the wrong type), then the odd and the broken."""


def query_string(params: list[tuple[str, str]]) -> str:
    """A raw query string: lone surrogates go out as the bytes a broken client would send."""
    return "&".join(
        quote_from_bytes(name.encode("utf-8", "surrogatepass"))
        + "="
        + quote_from_bytes(value.encode("utf-8", "surrogatepass"))
        for name, value in params
    )


def json_body(value: Any, raw: bool = False) -> bytes:
    """JSON as a client sends it: escaped, or (``raw``) with the characters themselves, surrogates included."""
    if raw:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


# -- The probe ------------------------------------------------------------------


class Probe:
    """Sends requests and checks every answer: no 5xx, SCIM errors, refused requests change nothing."""

    def __init__(self, app: Flask, token: str) -> None:
        self.client = app.test_client()
        self.state = app.extensions["scim_server"]
        self.headers = {"Authorization": f"Bearer {token}", "Accept": SCIM}
        self.body_headers = {**self.headers, "Content-Type": SCIM}
        self.baseline = self.fingerprint()
        self.statuses: dict[int, int] = {}

    def fingerprint(self) -> tuple[Any, ...]:
        with self.state.reads.connect() as connection:
            return tuple(connection.execute(FINGERPRINT).one())

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        query: str | None = None,
        *,
        writes: bool = True,
        forget: bool = False,
        settle: bool = True,
    ) -> TestResponse:
        """One request, checked; ``forget``: resources it created are removed again (with their index rows,
        memberships and events), so that every example meets the same world and costs the same;
        ``settle=False``: a read whose database check the next request's covers."""
        newest = self.baseline[2]
        response = self.client.open(
            "/scim/v2" + path,
            method=method,
            data=body,
            query_string=query,
            headers=self.body_headers if body is not None else self.headers,
        )
        status = response.status_code
        self.statuses[status] = self.statuses.get(status, 0) + 1
        shown = f"{method} {path}?{(query or '')[:300]} {(body or b'')[:600]!r}"
        assert status < 500, f"{shown} -> {status} {response.get_data(as_text=True)[:1000]}"
        if status >= 400:
            answer = response.get_json(silent=True)
            assert isinstance(answer, dict), f"{shown} -> {status} {response.data[:300]!r}"
            assert answer.get("schemas") == [ERROR], f"{shown} -> {answer}"
            assert str(answer.get("status")) == str(status), f"{shown} -> {answer}"
        if not settle:
            assert not writes
        elif status >= 400 or not writes:
            assert self.fingerprint() == self.baseline, f"{shown} -> {status} changed the database"
        else:
            if forget:
                with self.state.engine.begin() as connection:
                    for statement in FORGET:
                        connection.execute(statement, {"newest": newest})
            self.baseline = self.fingerprint()
        return response

    def rebase(self) -> None:
        self.baseline = self.fingerprint()

    def check_reach(self) -> None:
        """Enough examples were accepted to have reached what lies behind validation: the storage, the
        lifecycle, the membership deltas. Generators that only produce garbage would pass trivially."""
        sent = sum(self.statuses.values())
        accepted = sum(count for status, count in self.statuses.items() if status < 300)
        if sent >= 500:
            assert accepted >= sent * 0.02, self.statuses


BJENSEN: dict[str, Any] = {
    "schemas": [USER, ENTERPRISE, LIFECYCLE],
    "userName": "bjensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "displayName": "Babs",
    "title": "Tour Guide",
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}, {"value": "b@example.org"}],
    "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
    "roles": [{"value": "guide"}],
    ENTERPRISE: {"department": "Tours", "employeeNumber": "701984", "manager": {"value": "boss"}},
    LIFECYCLE: {"workRelationships": [{"value": "WR-1", "type": "employee"}]},
}
"""The user every target works on: something in every kind of attribute."""


@pytest.fixture
def world(client: ScimClient, make_user: Any, make_group: Any) -> dict[str, Any]:
    """bjensen, a second user, and a group holding both."""
    user = ok(client.post("/Users", BJENSEN), 201)
    other = make_user("jsmith")
    group = make_group("Tour Guides", members=[user["id"], other["id"]])
    return {"user": user, "other": other, "group": group}


@pytest.fixture
def probe(app: Flask, make_token: Any, world: dict[str, Any]) -> Probe:
    return Probe(app, make_token("fuzzer"))


def _restorer(probe: Probe, path: str, body: dict[str, Any]) -> Callable[[TestResponse], None]:
    """Put the target back when successful writes made it large, so that 10,000 examples cost alike."""

    def restore(response: TestResponse) -> None:
        if response.status_code < 300 and len(response.data) > 20_000:
            ok(probe.client.put("/scim/v2" + path, data=json_body(body), headers=probe.body_headers))
            probe.rebase()

    return restore


# -- Targets ----------------------------------------------------------------------


def test_filters(probe: Probe, world: dict[str, Any]) -> None:
    """Every generated filter, in a query (on each endpoint) and in a .search body."""

    @PROPERTY
    @given(
        filters,
        st.sampled_from(["/Users", "/Groups", "/Credentials", "/LifecycleEvents", "/"]),
        st.sampled_from(["/Users/.search", "/.search", "/Groups/.search"]),
        st.booleans(),
    )
    def run(scim_filter: str, endpoint: str, search: str, raw: bool) -> None:
        probe.send("GET", endpoint, query=query_string([("filter", scim_filter)]), writes=False, settle=False)
        body = {"schemas": [SEARCH], "filter": scim_filter}
        probe.send("POST", search, json_body(body, raw), writes=False)

    run()
    probe.check_reach()


USER_PATCH_PATHS = [
    "userName",
    "displayName",
    "title",
    "nickName",
    "active",
    "name",
    "name.givenName",
    "emails",
    'emails[type eq "work"].value',
    'emails[type eq "home"]',
    'emails[value ew "example.com"].primary',
    "emails.value",
    "phoneNumbers",
    'phoneNumbers[type eq "mobile"].value',
    "roles",
    'roles[value eq "guide"]',
    'roles[value eq "user"].type',
    "groups",
    "id",
    "meta",
    "meta.lastModified",
    "schemas",
    "password",
    "x509Certificates",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}",
    f"{USER}:userName",
    f"{USER}:name.familyName",
    f"{LIFECYCLE}:reason",
    f"{LIFECYCLE}:locked",
    f"{LIFECYCLE}:state",
    f"{LIFECYCLE}:workRelationships",
    f'{LIFECYCLE}:workRelationships[value eq "WR-1"].terminationDate',
    f'{LIFECYCLE}:workRelationships[value eq "WR-2"].startDate',
    f"{LIFECYCLE}:workRelationships.status",
    "nosuch",
    "name.nosuch",
    "members",
]
GROUP_PATCH_PATHS = [
    "displayName",
    "externalId",
    "members",
    "members",
    "members",
    "members.value",
    "members.display",
    'members[value eq "{user}"]',
    'members[value eq "{other}"]',
    'members[value eq "{user}"].display',
    'members[value eq "{user}" or value eq "{other}"]',
    'members[type eq "User"]',
    'members[value eq "missing"]',
    "members[value pr]",
    f"{GROUP}:displayName",
    f"{GROUP}:members",
    "id",
    "meta",
    "nosuch",
    "userName",
]
BOOLEAN_NAMES = {"active", "locked", "primary"}
MULTI_VALUED_NAMES = {
    "emails",
    "phoneNumbers",
    "addresses",
    "roles",
    "groups",
    "members",
    "x509Certificates",
    "entitlements",
    "ims",
    "photos",
    "workRelationships",
}
COMPLEX_NAMES = {"name", "manager", ENTERPRISE.lower(), LIFECYCLE.lower(), "meta"}
BOOLEAN_NAMES = {"active", "locked", "primary"}
REASONS = ["parentalLeave", "leaveOfAbsence", "temporaryDeactivation", "termination", "securityReview", "nope"]
dates = st.one_of(
    st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    st.sampled_from(["2026-13-45T99:99:99Z", "yesterday", "2026-01-01", "0001-01-01T00:00:00Z"]),
)


@functools.cache
def _entries(ids: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {},
        optional={
            "value": st.one_of(st.sampled_from(ids), strings, dates),
            "type": st.sampled_from(["work", "home", "User", "Group", "manual", "default", "auto", "employee", ""]),
            "primary": st.booleans(),
            "display": strings,
            "startDate": dates,
            "terminationDate": dates,
        },
    )


def _kind(path: str | None) -> str:
    """What a path names: a boolean, a reason, a date, a member id, entries, a complex value, a string."""
    if path is None:
        return "attributes"
    selected = "[" in path and not path.rstrip().endswith("]")
    head = path.split("[")[0]
    name = (path.rsplit(".", 1)[-1] if selected else head.rsplit(":", 1)[-1].rsplit(".", 1)[-1]).strip().lower()
    if head.lower() in COMPLEX_NAMES:
        return "complex"
    if name in BOOLEAN_NAMES:
        return "boolean"
    if name == "reason":
        return "reason"
    if name.endswith("date") or name in {"lastmodified", "created"}:
        return "date"
    if name == "value" and "members" in path.lower():
        return "id"
    if name in MULTI_VALUED_LOWER and not selected:
        return "entries"
    if name in COMPLEX_NAMES or "[" in path:
        return "complex"
    return "string"


MULTI_VALUED_LOWER = {name.lower() for name in MULTI_VALUED_NAMES}
ATTRIBUTE_NAMES = sorted({p for p in USER_PATCH_PATHS + GROUP_PATCH_PATHS if "[" not in p})


@functools.cache
def _plausible_kind(kind: str, ids: tuple[str, ...]) -> st.SearchStrategy[Any]:
    entries = _entries(ids)
    return {
        "attributes": st.dictionaries(
            st.sampled_from(ATTRIBUTE_NAMES),
            st.one_of(strings, st.booleans(), st.lists(entries, max_size=3)),
            max_size=3,
        ),
        "boolean": st.one_of(st.booleans(), st.sampled_from(["True", "False", "true", "yes"])),
        "reason": st.sampled_from(REASONS),
        "date": dates,
        "id": st.sampled_from(ids),
        "entries": st.one_of(st.lists(entries, max_size=3), entries),
        "complex": st.one_of(entries, st.dictionaries(st.sampled_from(SUB_NAMES), strings, max_size=3)),
        "string": strings,
    }[kind]


def _plausible(path: str | None, ids: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """A value of the shape the attribute a path names has: the kind a client means to send."""
    return _plausible_kind(_kind(path), ids)


def _operations(
    paths: st.SearchStrategy[Any], plausible_paths: list[str], ids: tuple[str, ...]
) -> st.SearchStrategy[Any]:
    """PATCH bodies: mostly the operations a client means, some odd, some anything at all."""
    ops = st.sampled_from(["add", "remove", "replace"])
    odd_ops = st.one_of(ops, st.sampled_from(["Add", "REPLACE", "Remove", "delete", "", "move"]), json_scalars)
    path_or_none = st.one_of(st.sampled_from(plausible_paths), st.none())
    meant_paths = st.sampled_from(plausible_paths)

    @st.composite
    def operation(draw: Any) -> Any:
        kind = draw(st.sampled_from(["meant"] * 6 + ["odd"] * 3 + ["anything"]))
        if kind == "anything":
            return draw(json_values)
        path: str | None
        if kind == "meant":
            op = draw(ops)
            path = draw(path_or_none if op != "remove" else meant_paths)
            found: dict[str, Any] = {"op": op}
            if path is not None:
                found["path"] = path
            if op != "remove" or draw(st.booleans()):
                found["value"] = draw(_plausible(path, ids))
            return found
        found = {}
        if draw(st.integers(0, 9)):
            found["op"] = draw(odd_ops)
        path = draw(paths) if draw(st.integers(0, 4)) else None
        if path is not None:
            found["path"] = path
        if draw(st.integers(0, 3)):
            found["value"] = draw(
                _plausible(path if isinstance(path, str) else None, ids) if draw(st.booleans()) else json_values
            )
        if not draw(st.integers(0, 9)):
            found[draw(keys)] = draw(json_values)
        return found

    @st.composite
    def body(draw: Any) -> Any:
        operations = draw(st.lists(operation(), min_size=1, max_size=3))
        shape = draw(st.sampled_from(["right"] * 16 + ["no schemas", "odd schemas", "odd operations", "anything"]))
        if shape == "no schemas":
            return {"Operations": operations}
        if shape == "odd schemas":
            return {"schemas": draw(json_values), "Operations": operations}
        if shape == "odd operations":
            return {"schemas": [PATCH_OP], "Operations": draw(json_values)}
        if shape == "anything":
            return draw(json_values)
        return {"schemas": [PATCH_OP], "Operations": operations}

    return body()


def test_patch_user(probe: Probe, world: dict[str, Any]) -> None:
    """PATCH of a user: random ops, paths valid and garbage, values of every JSON shape."""
    user, ids = world["user"], (world["user"]["id"], world["other"]["id"], world["group"]["id"])
    paths = st.one_of(st.sampled_from(USER_PATCH_PATHS), value_paths, attribute_paths, mangled(value_paths), texts)
    restore = _restorer(probe, f"/Users/{user['id']}", BJENSEN)

    @PROPERTY
    @given(_operations(paths, USER_PATCH_PATHS, ids), st.booleans())
    def run(body: Any, raw: bool) -> None:
        restore(probe.send("PATCH", f"/Users/{user['id']}", json_body(body, raw)))

    run()
    probe.check_reach()


def test_patch_group(probe: Probe, world: dict[str, Any]) -> None:
    """PATCH of a group: member operations of every shape (delta and library paths alike), garbage around them."""
    group, ids = world["group"], (world["user"]["id"], world["other"]["id"], world["group"]["id"])
    known = [path.format(user=ids[0], other=ids[1]) for path in GROUP_PATCH_PATHS]
    member_paths = st.builds(lambda inner, sub: f"members[{inner}]{sub}", sub_filters, st.sampled_from(["", ".value"]))
    paths = st.one_of(st.sampled_from(known), st.sampled_from(known), member_paths, attribute_paths, texts)
    restore = _restorer(
        probe,
        f"/Groups/{group['id']}",
        {"schemas": [GROUP], "displayName": "Tour Guides", "members": [{"value": ids[0]}, {"value": ids[1]}]},
    )

    @PROPERTY
    @given(_operations(paths, known, ids), st.booleans())
    def run(body: Any, raw: bool) -> None:
        restore(probe.send("PATCH", f"/Groups/{group['id']}", json_body(body, raw)))

    run()
    probe.check_reach()


user_names = st.one_of(
    strings,
    strings,
    st.sampled_from(
        [
            "\u202eevil",
            "\u05e9\u05dc\u05d5\u05dd",  # Hebrew, right to left
            "\u0645\u0631\u062d\u0628\u0627",  # Arabic
            "e\u0301e\u0301",
            "\u00e9",  # the same letter precomposed
            "\U0001f469\u200d\U0001f469\u200d\U0001f467",
            "a\x00b",
            "a\ud800b",
            "x" * 100_000,
            "bjensen",
            "BJensen",
            "jsmith",
        ]
    ),
    json_values,
)


@st.composite
def user_bodies(draw: Any) -> Any:
    body: dict[str, Any] = {"schemas": draw(st.sampled_from([[USER], [USER, ENTERPRISE], [USER, LIFECYCLE], []]))}
    if draw(st.integers(0, 9)):
        body["userName"] = draw(user_names)
    names = draw(st.lists(st.sampled_from(USER_NAMES), max_size=4, unique=True))
    for name in names:
        body[name] = draw(_plausible(name, ("boss",)) if draw(st.integers(0, 2)) else json_values)
    if not draw(st.integers(0, 19)):
        body["schemas"] = draw(json_values)
    return body


def test_user_bodies(probe: Probe, world: dict[str, Any]) -> None:
    """POST and PUT of users with every attribute any JSON, and user names in every script and none."""
    user = world["user"]
    restore = _restorer(probe, f"/Users/{user['id']}", BJENSEN)

    @PROPERTY
    @given(user_bodies(), st.booleans(), st.booleans())
    def run(body: Any, create: bool, raw: bool) -> None:
        if create:
            probe.send("POST", "/Users", json_body(body, raw), forget=True)
        else:
            restore(probe.send("PUT", f"/Users/{user['id']}", json_body(body, raw)))

    run()
    probe.check_reach()


@st.composite
def nested_bodies(draw: Any, user_id: str) -> tuple[str, str, bytes]:
    """A body nesting arrays and objects up to thousands deep, where a value, an operation or a filter goes."""
    depth = draw(st.one_of(st.integers(1, 300), st.integers(1, 20_000)))
    kind = draw(st.integers(0, 3))
    leaf = draw(st.sampled_from(['"x"', "1", "null", "true", "{}", "[]", ""]))
    if kind == 0:
        nested = "[" * depth + leaf + "]" * depth
    elif kind == 1:
        nested = '{"a":' * depth + (leaf or "1") + "}" * depth
    elif kind == 2:
        nested = '[{"value":' * depth + (leaf or "1") + "}]" * depth
    else:  # unbalanced
        nested = "[" * depth + leaf + "]" * draw(st.integers(0, depth))
    method, path, template = draw(
        st.sampled_from(
            [
                ("POST", "/Users", f'{{"schemas":["{USER}"],"userName":"nested","name":NESTED}}'),
                ("POST", "/Users", f'{{"schemas":["{USER}"],"userName":NESTED}}'),
                ("PUT", f"/Users/{user_id}", f'{{"schemas":["{USER}"],"userName":"bjensen","emails":NESTED}}'),
                (
                    "PATCH",
                    f"/Users/{user_id}",
                    f'{{"schemas":["{PATCH_OP}"],"Operations":[{{"op":"add","value":NESTED}}]}}',
                ),
                ("PATCH", f"/Users/{user_id}", f'{{"schemas":["{PATCH_OP}"],"Operations":NESTED}}'),
                (
                    "POST",
                    "/Bulk",
                    f'{{"schemas":["{BULK}"],"Operations":[{{"method":"POST","path":"/Users","data":NESTED}}]}}',
                ),
                ("POST", "/Users/.search", f'{{"schemas":["{SEARCH}"],"filter":NESTED}}'),
                ("POST", "/Users", "NESTED"),
            ]
        )
    )
    return method, path, template.replace("NESTED", nested).encode()


def test_nested_bodies(probe: Probe, world: dict[str, Any]) -> None:
    """JSON nested deeper than any parser's stack, on every endpoint that reads a body."""

    @PROPERTY
    @given(nested_bodies(world["user"]["id"]))
    def run(request: tuple[str, str, bytes]) -> None:
        method, path, body = request
        probe.send(method, path, body, forget=method == "POST")

    run()
    probe.check_reach()


attribute_lists = st.one_of(
    st.lists(st.one_of(attribute_paths, st.sampled_from(USER_PATCH_PATHS), texts), max_size=4).map(",".join),
    texts,
)
integer_texts = st.one_of(numbers.map(str), st.sampled_from(["", "abc", "1.5", "-0", "1e3", "0x10", " 1", "١٢"]), texts)


QUERY_PARAMETERS = {
    "attributes": attribute_lists,
    "excludedAttributes": attribute_lists,
    "sortBy": st.one_of(attribute_paths, texts),
    "sortOrder": st.one_of(st.sampled_from(["ascending", "descending", "DESCENDING", ""]), texts),
    "startIndex": integer_texts,
    "count": integer_texts,
    "cursor": st.one_of(st.just(""), texts, st.text(string.ascii_letters + string.digits + "-_=.", max_size=200)),
    "filter": filters,
    "other": texts,
}
other_parameters = st.one_of(texts, st.sampled_from(["aadOptscim062020", "", "filter"]))


@st.composite
def query_parameters(draw: Any) -> list[tuple[str, str]]:
    names = draw(st.lists(st.sampled_from(list(QUERY_PARAMETERS)), min_size=1, max_size=4))
    return [(draw(other_parameters) if name == "other" else name, draw(QUERY_PARAMETERS[name])) for name in names]


def test_query_parameters(probe: Probe, world: dict[str, Any]) -> None:
    """Paging, sorting, projection and cursor parameters, alone and together, on lists and on one resource."""
    user = world["user"]

    @PROPERTY
    @given(
        query_parameters(),
        st.sampled_from(["/Users", "/Groups", "/", f"/Users/{user['id']}", f"/Groups/{world['group']['id']}"]),
    )
    def run(params: list[tuple[str, str]], path: str) -> None:
        probe.send("GET", path, query=query_string(params), writes=False)

    run()
    probe.check_reach()
