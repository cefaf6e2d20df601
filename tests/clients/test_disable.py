"""What an identity provider's disable means here: a bare ``active=false`` follows ``defaultMode`` (SPEC §3).

Every client's disable, exactly as its module replays it (sources there), under both modes a policy can
ship: ``suspend`` (the default: roles and credentials untouched) and ``deactivate`` (roles withdrawn,
cards inactive, certificates on hold). Re-enabling undoes it either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.clients import test_entra, test_jumpcloud, test_okta, test_onelogin
from tests.clients.conftest import Auditor, Replay
from tests.conftest import PATCH_OP, USER, ScimClient, ok


def _entra(flag: str) -> Callable[[Replay, str, bool], None]:
    def send(replay: Replay, user_id: str, active: bool) -> None:
        body = (test_entra.DISABLE if not active else test_entra.ENABLE)[flag or "legacy"]
        replay.send("PATCH", f"/Users/{user_id}", body, status=200)

    return send


def _okta_oin(replay: Replay, user_id: str, active: bool) -> None:
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": active}}]}
    replay.send("PATCH", f"/Users/{user_id}", body, status=200)


def _okta_aiw(replay: Replay, user_id: str, active: bool) -> None:
    test_okta.update(replay, user_id, {"active": active})


def _onelogin(replay: Replay, user_id: str, active: bool) -> None:
    replay.json("PUT", f"/Users/{user_id}", test_onelogin.template(f"{user_id}@example.com", active=active))


def _jumpcloud(replay: Replay, user_id: str, active: bool) -> None:
    body = test_jumpcloud.full(user_id, active=active, userName=f"{user_id}@example.io")
    replay.json("PUT", f"/Users/{user_id}", body)


CLIENTS: dict[str, tuple[str, dict[str, str], str, Callable[[Replay, str, bool], None]]] = {
    "Entra ID": ("entra-id", test_entra.HEADERS, "", _entra("")),
    "Entra ID, aadOptscim062020": ("entra-id", test_entra.HEADERS, "aadOptscim062020", _entra("aadOptscim062020")),
    "Okta OIN": ("okta", test_okta.HEADERS, "", _okta_oin),
    "Okta AIW": ("okta", test_okta.HEADERS, "", _okta_aiw),
    "OneLogin": ("onelogin", test_onelogin.HEADERS, "", _onelogin),
    "JumpCloud": ("jumpcloud", test_jumpcloud.HEADERS, "", _jumpcloud),
}

MODES = {
    "suspend": ((False, "suspended", None), {("tour-guide", "manual"), ("user", "default")}, ("active", "valid")),
    "deactivate": ((False, "deactivated", None), set(), ("inactive", "onHold")),
}
"""defaultMode → the user's (active, state, reason), its roles and its card after a bare disable."""


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("client_name", list(CLIENTS))
def test_a_bare_disable_follows_the_default_mode(
    policy_app: Callable[..., ScimClient], client_name: str, mode: str
) -> None:
    name, headers, flag, set_active = CLIENTS[client_name]
    neutral = policy_app(f'defaultMode = "{mode}"\n')
    auditor = Auditor(neutral)
    as_client = policy_app("", name)  # the same server, the identity provider's own token
    identity_provider = Replay(as_client.flask, str(as_client.token), headers, flag)
    user: dict[str, Any] = ok(
        neutral.post("/Users", {"schemas": [USER], "userName": f"{name}-user", "roles": [{"value": "tour-guide"}]}), 201
    )
    card = auditor.card(user["id"])
    expected_state, expected_roles, expected_card = MODES[mode]

    set_active(identity_provider, user["id"], False)

    assert auditor.lifecycle(user["id"]) == expected_state
    assert {(r["value"], r["type"]) for r in auditor.user(user["id"]).get("roles", [])} == expected_roles
    assert auditor.card_states(card) == expected_card
    assert auditor.actions(user["id"]) == [(mode, name)]

    set_active(identity_provider, user["id"], True)

    assert auditor.lifecycle(user["id"]) == (True, "active", None)
    assert auditor.card_states(card) == ("active", "valid")
