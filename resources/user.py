"""The User resource type of RFC 7643 §4.1, served at ``/Users``."""

from __future__ import annotations

import email_validator
from scim2_models import User

from scim_server.registry import Registry

STORED_DOMAINS = ("local", "test")
"""Special-use domains that directories hold addresses on. Active Directory forests named ``corp.local``
give their users ``@corp.local`` addresses, and Okta's own SCIM reference provisions ``test.user@okta.local``.
RFC 7643 §4.1.2 asks emails to follow RFC 5321 with a SHOULD; this server stores addresses and delivers no
mail, so it refuses only the names no address can carry (``invalid``, ``localhost``, ``onion``, ``arpa``)."""


def register(registry: Registry) -> None:
    # email-validator's documented switch: the special-use names it refuses are this module-level list.
    for domain in STORED_DOMAINS:
        if domain in email_validator.SPECIAL_USE_DOMAIN_NAMES:
            email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(domain)
    registry.add_resource("User", "/Users", User, "User accounts (RFC 7643 §4.1)", principal=True)
