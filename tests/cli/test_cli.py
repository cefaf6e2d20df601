"""The scim-server command, run as a user runs it: a process, environment variables, stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import ScimClient, error, ok

SCIM_SERVER = Path(sys.executable).with_name("scim-server")


def run(
    database_url: str, *args: str, check: bool = True, extra_env: list[tuple[str, str]] = ()
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCIM_DATABASE_URL": database_url, "SCIM_LOG_LEVEL": "WARNING", **dict(extra_env)}
    return subprocess.run([str(SCIM_SERVER), *args], env=env, capture_output=True, text=True, check=check, timeout=60)


def test_tokens_create_prints_the_token_alone(database_url: str, app: Flask, state: Any) -> None:
    result = run(database_url, "tokens", "create", "okta", "--scope", "read", "--scope", "write", "--expires", "30")

    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert token.startswith("scim_")
    ok(ScimClient(app.test_client(), token).search("/Users"))


def test_tokens_list_shows_no_secret(database_url: str, state: Any) -> None:
    token = run(database_url, "tokens", "create", "entra", "--scope", "read").stdout.strip()
    listing = run(database_url, "tokens", "list").stdout
    assert "entra" in listing and "read" in listing and "active" in listing
    assert token not in listing


def test_tokens_revoke(database_url: str, app: Flask, state: Any) -> None:
    token = run(database_url, "tokens", "create", "jumpcloud", "--scope", "read").stdout.strip()
    assert "revoked 1" in run(database_url, "tokens", "revoke", "jumpcloud").stdout
    error(ScimClient(app.test_client(), token).search("/Users"), 401)
    assert "revoked" in run(database_url, "tokens", "list").stdout
    assert run(database_url, "tokens", "revoke", "jumpcloud", check=False).returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        ("tokens", "create", "x"),
        ("tokens", "create", "x", "--scope", "root"),
        ("tokens", "create", "x", "--scope", "read", "--expires", "-1"),
    ],
)
def test_bad_token_requests_fail_with_a_message(database_url: str, state: Any, args: tuple[str, ...]) -> None:
    result = run(database_url, *args, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Error" in result.stderr


def test_db_upgrade_is_idempotent(database_url: str, state: Any) -> None:
    assert run(database_url, "db", "upgrade").returncode == 0
    assert run(database_url, "db", "upgrade").returncode == 0


def test_invalid_configuration_names_the_key(database_url: str) -> None:
    env = {**os.environ, "SCIM_DATABASE_URL": database_url, "SCIM_MAX_RESULTS": "many"}
    result = subprocess.run([str(SCIM_SERVER), "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SCIM_MAX_RESULTS" in result.stderr
