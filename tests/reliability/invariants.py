"""The lifecycle's promises over everything a server holds, read back over HTTP (README, "Lifecycle").

``violations(http)`` lists every user whose state, roles, credentials and
events contradict one another. It assumes what the reliability tests set up:
credentials are created ``active`` with ``valid`` certificates, and only the
lifecycle moves their states afterwards (clients may add certificates).

For every user:

* ``active`` is true exactly when the lifecycle ``state`` is ``active``; a
  deactivated user holds no role;
* its transition events (``deactivate``, ``suspend``, ``reactivate``…) form
  one chain in creation order — each starts where the previous one ended, the
  first where a new user starts (``active``), the last where the user is now —
  and each of deactivate, suspend and reactivate changes the state (a
  repeated request records nothing);
* ``occurred`` never goes backwards in that order;
* replaying the recorded credential and certificate moves in order from
  ``active``/``valid``, each move starts where the previous one left the item
  (nothing was moved twice, nothing moved unrecorded) and ends where the item
  is now;
* the states agree with the user's: a deactivated user has no ``active``
  credential among those it held when it was last deactivated (every shipped
  credential type moves) and none of their moved certificates is ``valid``
  again; an active user has no credential or certificate still held by
  a deactivation (every hold was released exactly once).
"""

from __future__ import annotations

import datetime
from typing import Any

from tests.reliability.conftest import LIFECYCLE, Http

STATE_CHANGES = ("deactivate", "suspend", "reactivate")
CHAINED = (*STATE_CHANGES, "terminate", "reverseTermination", "rehire")
INITIAL_CREDENTIAL, INITIAL_CERTIFICATE = "active", "valid"


def moment(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


def snapshot(http: Http) -> dict[str, list[dict[str, Any]]]:
    return {
        "users": http.all("/Users"),
        "credentials": http.all("/Credentials"),
        "events": http.all("/LifecycleEvents"),
    }


def violations(http: Http, held: dict[str, list[dict[str, Any]]] | None = None) -> list[str]:
    held = held or snapshot(http)
    credentials_of: dict[str, list[dict[str, Any]]] = {}
    for credential in held["credentials"]:
        credentials_of.setdefault(credential["user"]["value"], []).append(credential)
    events_of: dict[str, list[dict[str, Any]]] = {}
    for event in held["events"]:  # in creation order
        events_of.setdefault(event["user"]["value"], []).append(event)
    found: list[str] = []
    for user in held["users"]:
        found += _user(user, credentials_of.get(user["id"], []), events_of.get(user["id"], []))
    return found


def _user(user: dict[str, Any], credentials: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[str]:
    name = user["userName"]
    state = user.get(LIFECYCLE, {}).get("state")
    found: list[str] = []
    if user.get("active") != (state == "active"):
        found.append(f"{name}: active={user.get('active')} but state {state}")
    if state == "deactivated" and user.get("roles"):
        found.append(f"{name}: deactivated but holds roles {user['roles']}")

    current = "active"
    occurred = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    for event in events:
        if moment(event["occurred"]) < occurred:
            found.append(f"{name}: event {event['id']} occurred {event['occurred']} before {occurred}")
        occurred = max(occurred, moment(event["occurred"]))
        if event["action"] not in CHAINED:
            continue
        if event["stateFrom"] != current:
            found.append(f"{name}: {event['action']} from {event['stateFrom']}, but the user was {current}")
        if event["action"] in STATE_CHANGES and event["stateFrom"] == event["stateTo"]:
            found.append(f"{name}: {event['action']} recorded without a change of state ({event['stateTo']})")
        current = event["stateTo"]
    if current != state:
        found.append(f"{name}: its events leave it {current}, it is {state}")

    replayed: dict[Any, str] = {}
    last_move: dict[Any, str] = {}
    for event in events:
        for move in event.get("credentials") or []:
            key = move["value"]
            before = replayed.get(key, INITIAL_CREDENTIAL)
            if move["from"] != before:
                found.append(f"{name}: {event['action']} moved credential {key} from {move['from']}, it was {before}")
            replayed[key], last_move[key] = move["to"], event["action"]
        for move in event.get("certificates") or []:
            key = (move["credential"], move["serialNumber"], move.get("issuer"))
            before = replayed.get(key, INITIAL_CERTIFICATE)
            if move["from"] != before:
                found.append(f"{name}: {event['action']} moved certificate {key} from {move['from']}, it was {before}")
            replayed[key], last_move[key] = move["to"], event["action"]

    deactivated_at = max((moment(e["meta"]["created"]) for e in events if e["action"] == "deactivate"), default=None)
    for credential in credentials:
        key = credential["id"]
        held_then = deactivated_at is not None and moment(credential["meta"]["created"]) < deactivated_at
        expected = replayed.get(key, INITIAL_CREDENTIAL)
        if credential["state"] != expected:
            found.append(f"{name}: credential {key} is {credential['state']}, its events say {expected}")
        if state == "deactivated" and held_then and credential["state"] == "active":
            found.append(f"{name}: deactivated, credential {key} still active")
        if state == "active" and last_move.get(key) == "deactivate" and credential["state"] == "inactive":
            found.append(f"{name}: active, credential {key} still inactive from its deactivation")
        for certificate in credential.get("certificates") or []:
            cert = (key, certificate["serialNumber"], certificate.get("issuer"))
            expected = replayed.get(cert, INITIAL_CERTIFICATE)
            if certificate["state"] != expected:
                found.append(f"{name}: certificate {cert} is {certificate['state']}, its events say {expected}")
            if state == "deactivated" and held_then and certificate["state"] == "valid" and cert in replayed:
                found.append(f"{name}: deactivated, certificate {cert} still valid")
            held = last_move.get(cert) == "deactivate" and certificate["state"] == "onHold"
            if state == "active" and credential["state"] == "active" and held:
                found.append(f"{name}: active, certificate {cert} of an active credential still on hold")
    return found
