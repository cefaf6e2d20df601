"""The lifecycle extension: ``active=false`` as deactivation or suspension, with its consequences.

Registers the extension on User, the write hooks that apply the rules to
every User and Credential write, the approval routes of the admin API and
the ``approvals`` command. The rules themselves are pure (``machine``,
``cascade``, ``roles``); ``engine`` applies them in the write's transaction.
"""

from __future__ import annotations

from scim_server.registry import Registry

from .api import blueprint
from .commands import approvals
from .engine import credential_written, user_written
from .schema import LifecycleUser


def register(registry: Registry) -> None:
    registry.add_extension("User", LifecycleUser)
    registry.add_write_hook(user_written, resource_types=["User"])
    registry.add_write_hook(credential_written, resource_types=["Credential"])
    registry.add_admin_blueprint(blueprint)
    registry.add_command(approvals)
