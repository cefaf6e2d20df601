"""Liveness and readiness, at the root, without a token (for load balancers and orchestrators)."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from .db import is_up_to_date

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process answers."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The database answers and its schema is the one this code expects."""
    engine = current_app.extensions["scim_server"].engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        if not is_up_to_date(engine):
            return jsonify(status="unavailable", detail="database schema is not up to date"), 503
    except Exception:
        current_app.logger.warning("readiness check failed", exc_info=True)
        return jsonify(status="unavailable", detail="database unreachable"), 503
    return jsonify(status="ok")


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
