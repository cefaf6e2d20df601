"""``scim-server approvals list|approve|reject``: the approval step from the command line."""

from __future__ import annotations

import click

from scim_server.actor import acting_as
from scim_server.tokens import Principal

from .approvals import PENDING, ApprovalError, decide, list_approvals


def _storage() -> object:
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
    with storage.session() as session:  # type: ignore[attr-defined]
        for row in list_approvals(session, None if status == "all" else status):
            click.echo(
                f"{row.id}\t{row.user_id}\t{row.action}\t{row.reason or '-'}\t{row.requested_by}"
                f"\t{row.requested.isoformat(timespec='seconds')}\t{row.status}"
            )


def _decide(approval_id: str, decision: str, by: str) -> None:
    storage = _storage()
    who = Principal(client=by, scopes=frozenset({"approve"}))
    try:
        with acting_as(who), storage.writing(), storage.operation():  # type: ignore[attr-defined]
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
