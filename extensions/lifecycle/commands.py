"""``scim-server approvals list|approve|reject`` and ``scim-server lifecycle run-due|autoprovision``."""

from __future__ import annotations

import datetime
from typing import Any

import click

from scim_server.actor import acting_as
from scim_server.tokens import Principal

from .approvals import PENDING, ApprovalError, decide, list_approvals
from .due import run_due


def _storage() -> Any:
    from scim_server.cli import app

    return app().extensions["scim_server"].storage


@click.group()
def approvals() -> None:
    """Transitions waiting for a second principal."""


@approvals.command("list")
@click.option(
    "--status",
    default=PENDING,
    show_default=True,
    help="pending, approved, rejected or cancelled; 'all' for every one.",
)
def list_command(status: str) -> None:
    """List approvals: id, user, action, reason, requester, status."""
    storage = _storage()
    with storage.session() as session:
        for row in list_approvals(session, None if status == "all" else status):
            click.echo(
                f"{row.id}\t{row.user_id}\t{row.action}\t{row.reason or '-'}\t{row.requested_by}"
                f"\t{row.requested.isoformat(timespec='seconds')}\t{row.status}"
            )


def _decide(approval_id: str, decision: str, by: str) -> None:
    storage = _storage()
    who = Principal(client=by, scopes=frozenset({"approve"}))
    try:
        with acting_as(who), storage.writing(), storage.operation():
            row, _ = decide(storage, approval_id, decision, who)
    except ApprovalError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"{row.id}\t{row.status}")


@approvals.command("approve")
@click.argument("approval_id")
@click.option("--by", required=True, help="Who approves: recorded as the approver, and must not be the requester.")
def approve_command(approval_id: str, by: str) -> None:
    """Approve a pending transition; it then happens as requested."""
    _decide(approval_id, "approve", by)


@approvals.command("reject")
@click.argument("approval_id")
@click.option("--by", required=True, help="Who rejects: recorded, and must not be the requester.")
def reject_command(approval_id: str, by: str) -> None:
    """Reject a pending transition; the user keeps its state."""
    _decide(approval_id, "reject", by)


@click.group()
def lifecycle() -> None:
    """HR-driven transitions: due terminations, autoprovisioning."""


@lifecycle.command("run-due")
@click.option(
    "--now",
    "now",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="Apply what is due at this time instead of the clock's (tests, back-fills). Naive times are UTC.",
)
def run_due_command(now: datetime.datetime | None) -> None:
    """Apply the terminations that have fallen due. Safe from cron on several hosts at once."""
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=datetime.UTC)
    count = run_due(_storage(), now)
    click.echo(f"applied {count} due transition(s)")


@lifecycle.command("autoprovision")
@click.argument("user_id")
def autoprovision_command(user_id: str) -> None:
    """Reconcile a user's auto roles with the role mappings now (never reactivates a suspended user)."""
    from scim2_models import SCIMException

    from .engine import Lifecycle

    storage = _storage()
    try:
        with (
            acting_as(Principal(client="cli", scopes=frozenset({"admin"}))),
            storage.writing(),
            storage.operation(),
            storage.session() as session,
        ):
            gained, lost = Lifecycle(storage.context(session)).autoprovision(user_id)
    except SCIMException as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"gained: {', '.join(r.value for r in gained) or '-'}\tlost: {', '.join(r.value for r in lost) or '-'}")
