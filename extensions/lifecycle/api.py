"""The lifecycle's part of the admin API: ``/admin/approvals`` and ``/admin/users/{id}/autoprovision``."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import RAISE, Schema, fields, validate

from scim_server.actor import acting_as
from scim_server.admin import AdminError, admin_blueprint, principal

from .approvals import APPROVED, CANCELLED, PENDING, REJECTED, ApprovalError, decide, list_approvals
from .engine import Lifecycle

blueprint = admin_blueprint("lifecycle_admin", __name__)


class ApprovalSchema(Schema):
    id = fields.String()
    userId = fields.String(attribute="user_id")
    action = fields.String()
    reason = fields.String(allow_none=True)
    requestedBy = fields.String(attribute="requested_by")
    requested = fields.DateTime()
    status = fields.String()
    decidedBy = fields.String(attribute="decided_by", allow_none=True)
    decided = fields.DateTime(allow_none=True)


class ListQuery(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf([PENDING, APPROVED, REJECTED, CANCELLED]))


class DecisionBody(Schema):
    """An optional comment; nothing else may be sent."""

    class Meta:
        unknown = RAISE

    comment = fields.String(validate=validate.Length(max=1000))


def _storage() -> Any:
    return current_app.extensions["scim_server"].storage


@blueprint.get("/approvals")
def approvals() -> ResponseReturnValue:
    principal("approve")
    query = ListQuery().load(request.args.to_dict())
    with _storage().session() as session:
        rows = list_approvals(session, query.get("status"))
        return jsonify(ApprovalSchema(many=True).dump(rows))


@blueprint.post("/approvals/<approval_id>/<any(approve, reject, cancel):decision>")
def decide_approval(approval_id: str, decision: str) -> ResponseReturnValue:
    who = principal(None if decision == "cancel" else "approve")  # the scope first: 403, whether the id exists or not
    DecisionBody().load(request.get_json(silent=True) or {})
    storage = _storage()
    try:
        with acting_as(who), storage.writing(), storage.operation():
            row, _user = decide(storage, approval_id, decision, who)
            return jsonify(ApprovalSchema().dump(row))
    except ApprovalError as error:
        raise AdminError(error.status, error.error, error.detail) from error


class RoleSchema(Schema):
    value = fields.String()
    type = fields.String()


class AutoprovisionResult(Schema):
    userId = fields.String()
    rolesGained = fields.List(fields.Nested(RoleSchema))
    rolesLost = fields.List(fields.Nested(RoleSchema))


@blueprint.post("/users/<user_id>/autoprovision")
def autoprovision(user_id: str) -> ResponseReturnValue:
    """Reconcile the user's auto roles with the role mappings now; never reactivates a suspended user."""
    who = principal("admin")
    DecisionBody().load(request.get_json(silent=True) or {})
    storage = _storage()
    with acting_as(who), storage.writing(), storage.operation(), storage.session() as session:
        gained, lost = Lifecycle(storage.context(session)).autoprovision(user_id)
    return jsonify(AutoprovisionResult().dump({"userId": user_id, "rolesGained": gained, "rolesLost": lost}))
