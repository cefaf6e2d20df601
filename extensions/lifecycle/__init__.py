"""The lifecycle extension: ``active=false`` as deactivation or suspension, with its consequences.

Registers the extension on User, the write hooks that apply the rules to
every User and Credential write, the approval routes of the admin API and
the ``approvals`` command. The rules themselves are pure (``machine``,
``cascade``, ``roles``); ``engine`` applies them in the write's transaction.
"""

from __future__ import annotations

from typing import Any

from scim_server.registry import Registry

from .api import blueprint
from .commands import approvals, lifecycle
from .due import Scheduler
from .engine import credential_written, user_written
from .schema import LifecycleUser


def start_scheduler(state: Any) -> None:
    """The optional in-process scheduler (``SCIM_SCHEDULER_INTERVAL``); run-due from cron needs none."""
    if state.settings.scheduler_interval > 0:
        Scheduler(state.storage, state.settings.scheduler_interval).start()


def register(registry: Registry) -> None:
    registry.add_extension("User", LifecycleUser)
    registry.add_write_hook(user_written, resource_types=["User"])
    registry.add_write_hook(credential_written, resource_types=["Credential"])
    registry.add_admin_blueprint(blueprint)
    registry.add_command(approvals)
    registry.add_command(lifecycle)
    registry.add_startup(start_scheduler)
