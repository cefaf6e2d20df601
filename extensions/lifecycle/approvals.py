"""Approvals (source 000, option "Add an approval step"): a requested transition waits for a second principal.

A request the policy marks for approval leaves a row here and
``pendingApproval`` on the user, and changes nothing else. A principal with
the ``approve`` scope, other than the requester, approves it — the transition
then happens as if requested then, by its requester — or rejects it; the
requester may cancel it. Deciding locks the row, so two approvers racing
decide once.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from scim_server.db import Base, UTCDateTime

from .machine import Pending

PENDING, APPROVED, REJECTED, CANCELLED = "pending", "approved", "rejected", "cancelled"


class ApprovalRow(Base):
    __tablename__ = "lifecycle_approval"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(128))
    requested_by: Mapped[str] = mapped_column(String(128))
    requested: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)


class ApprovalError(Exception):
    """Why an approval cannot be decided, with the HTTP status the admin API answers."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def record_request(session: Session, user_id: str, pending: Pending) -> None:
    session.add(
        ApprovalRow(
            id=pending.approval_id,
            user_id=user_id,
            action=pending.action,
            reason=pending.reason,
            requested_by=pending.requested_by,
            requested=pending.requested,
            status=PENDING,
        )
    )
    session.flush()


def list_approvals(session: Session, status: str | None) -> list[ApprovalRow]:
    query = select(ApprovalRow).order_by(ApprovalRow.requested, ApprovalRow.id)
    if status:
        query = query.where(ApprovalRow.status == status)
    return list(session.scalars(query))


def pending(session: Session, approval_id: str, *, lock: bool) -> ApprovalRow:
    query = select(ApprovalRow).where(ApprovalRow.id == approval_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise ApprovalError(404, "not_found", f"no approval {approval_id!r}")
    if row.status != PENDING:
        raise ApprovalError(409, "already_decided", f"approval {approval_id} is already {row.status}")
    return row


def decide(storage: Any, approval_id: str, decision: str, principal: Any) -> tuple[ApprovalRow, Any]:
    """Approve, reject or cancel, inside the caller's storage operation. Returns the row and the user after."""
    from .engine import Lifecycle

    with storage.session() as session:
        row = pending(session, approval_id, lock=True)
        if decision == "cancel":
            if principal.client != row.requested_by:
                raise ApprovalError(403, "forbidden", "only the requester may cancel a pending approval")
        else:
            if not principal.has("approve"):
                raise ApprovalError(403, "forbidden", "deciding an approval needs the 'approve' scope")
            if principal.client == row.requested_by:
                raise ApprovalError(403, "forbidden", "the requester cannot decide its own request")
        lifecycle = Lifecycle(storage.context(session))
        if decision == "approve":
            user = lifecycle.approve(row, principal.client)
            row.status = APPROVED
        else:
            action = "approvalRejected" if decision == "reject" else "approvalCancelled"
            user = lifecycle.withdraw(row, action, principal.client)
            row.status = REJECTED if decision == "reject" else CANCELLED
        row.decided_by = principal.client
        row.decided = datetime.datetime.now(datetime.UTC)
        session.flush()
        return row, user
