"""Liveness and readiness at the root, without a token."""

from __future__ import annotations

from flask import Flask


def test_healthz(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_checks_the_database(app: Flask) -> None:
    response = app.test_client().get("/readyz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
