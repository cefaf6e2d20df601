"""What resource types and schema extensions this server serves, as declared by plugins.

The core never imports ``resources`` or ``extensions``: each of their modules
exposes a ``register(registry)`` function, listed as a ``scim_server.plugins``
entry point of the distribution. The registry collects the declarations in
any order and composes them into the ``ScimProvider`` the protocol layer and
the storage share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from scim2_models import Extension, Resource, ResourceType, ScimPolicy, ScimProvider, ServiceProviderConfig

PLUGIN_GROUP = "scim_server.plugins"


@dataclass(frozen=True)
class ResourceDeclaration:
    """A resource type: its bare model and where it is served."""

    name: str
    endpoint: str
    model: type[Resource[Any]]
    description: str = ""
    principal: bool = False
    """Whether a token can be bound to a resource of this type, which ``/Me`` then serves."""
    read_only: bool = False
    """Whether clients may only read it (the server writes it, as the audit trail)."""


@dataclass(frozen=True)
class ExtensionDeclaration:
    """A schema extension attached to a resource type by name."""

    resource: str
    model: type[Extension]
    required: bool = False


@dataclass(frozen=True)
class Membership:
    """A many-to-many relation kept in its own table rather than in the documents.

    ``owner.attribute`` lists members (``Group.members``); ``reverse``, when
    given, is the read-only attribute of a member that lists its owners
    (``User.groups``). Storing the relation apart is what lets one member be
    added to a group of 100,000 without reading the other 99,999.
    """

    owner: str
    attribute: str
    member_types: tuple[str, ...]
    reverse: tuple[str, str] | None = None


class WriteHook(Protocol):
    """Called by the storage inside the transaction of every write of the resource types it was registered for.

    ``before`` is None for a creation, ``after`` is None for a deletion;
    ``before`` is read without its membership attributes (a group's members).
    A hook may change ``after`` before it is stored, write related rows
    through ``context``, or raise a ``SCIMException`` to refuse the write; the
    storage rolls the whole operation back then.
    """

    def __call__(self, context: Any, resource_type: str, before: Any, after: Any) -> None: ...


@dataclass
class Registry:
    """The declarations of every plugin, and what the server composes from them."""

    resources: dict[str, ResourceDeclaration] = field(default_factory=dict)
    extensions: list[ExtensionDeclaration] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    write_hooks: list[tuple[WriteHook, frozenset[str] | None]] = field(default_factory=list)
    """Each hook with the resource types it applies to (None: all of them)."""
    admin_blueprints: list[Any] = field(default_factory=list)
    commands: list[Any] = field(default_factory=list)
    startups: list[Callable[[Any], None]] = field(default_factory=list)
    """Called with the application's state once it is built (to start a background job, say)."""

    def add_resource(
        self,
        name: str,
        endpoint: str,
        model: type[Resource[Any]],
        description: str = "",
        *,
        principal: bool = False,
        read_only: bool = False,
    ) -> None:
        if name in self.resources:
            raise ValueError(f"resource type {name!r} is declared twice")
        self.resources[name] = ResourceDeclaration(name, endpoint, model, description, principal, read_only)

    def add_admin_blueprint(self, blueprint: Any) -> None:
        """Routes under ``/admin``; build the blueprint with ``scim_server.admin.admin_blueprint``."""
        self.admin_blueprints.append(blueprint)

    def add_command(self, command: Any) -> None:
        """A click command or group added to ``scim-server``."""
        self.commands.append(command)

    def add_startup(self, startup: Callable[[Any], None]) -> None:
        self.startups.append(startup)

    @property
    def principal_type(self) -> str | None:
        """The resource type ``/Me`` serves, if a plugin declared one."""
        return next((d.name for d in self.resources.values() if d.principal), None)

    def add_extension(self, resource: str, model: type[Extension], *, required: bool = False) -> None:
        self.extensions.append(ExtensionDeclaration(resource, model, required))

    def add_membership(self, membership: Membership) -> None:
        self.memberships.append(membership)

    def add_write_hook(self, hook: WriteHook, *, resource_types: Iterable[str] | None = None) -> None:
        self.write_hooks.append((hook, frozenset(resource_types) if resource_types is not None else None))

    def hooks_for(self, resource_type: str) -> list[WriteHook]:
        return [hook for hook, types in self.write_hooks if types is None or resource_type in types]

    def resource_types(self) -> list[ResourceType]:
        """One ``ResourceType`` per declared resource, with the extensions declared for it."""
        unknown = {e.resource for e in self.extensions} - set(self.resources)
        if unknown:
            raise ValueError(f"extensions declared for unknown resource types: {sorted(unknown)}")
        return [
            ResourceType.model_validate(
                {
                    "id": declaration.name,
                    "name": declaration.name,
                    "endpoint": declaration.endpoint,
                    "description": declaration.description or declaration.name,
                    "schema": str(declaration.model.__schema__),
                    "schemaExtensions": [
                        {"schema": str(e.model.__schema__), "required": e.required}
                        for e in self.extensions
                        if e.resource == declaration.name
                    ],
                }
            )
            for declaration in self.resources.values()
        ]

    def provider(self, config: ServiceProviderConfig, policy: ScimPolicy) -> ScimProvider:
        models: list[Any] = [d.model for d in self.resources.values()]
        models += list(dict.fromkeys(e.model for e in self.extensions))
        return ScimProvider(models=models, resource_types=self.resource_types(), config=config, policy=policy)

    def membership_of(self, resource_type: str) -> Membership | None:
        """The membership a resource type owns (``Group`` owns ``members``)."""
        return next((m for m in self.memberships if m.owner == resource_type), None)

    def reverse_membership_of(self, resource_type: str) -> Membership | None:
        """The membership a resource type sees from the member side (``User.groups``)."""
        return next((m for m in self.memberships if m.reverse and m.reverse[0] == resource_type), None)


Plugin = Callable[[Registry], None]


def installed_plugins() -> list[Plugin]:
    """The ``scim_server.plugins`` entry points of the installed distributions."""
    return [entry.load() for entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name)]


def load_registry(plugins: Iterable[Plugin] | None = None) -> Registry:
    """Build a registry from the given plugins, or from the installed ones."""
    registry = Registry()
    for plugin in installed_plugins() if plugins is None else plugins:
        plugin(registry)
    return registry
