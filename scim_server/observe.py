"""What each request was — who, which operation, how it ended, how long it took — for the log and the metrics.

Two application hooks: one notes the start and the request id, the other,
once the response exists, builds a ``RequestRecord`` and hands it to the
sinks (``requestlog.log_request``, ``metrics.record``). A record names the
*operation* and the *path template*, never the path as sent or its query
string: ``GET /scim/v2/Users/2819c223`` is operation ``query User`` at
``/scim/v2/Users/{id}``. Both come from the route Flask matched, so there are
as many of them as routes, whatever clients send (metric labels stay few),
and a filter or an id in a URL never reaches a log.

Operations:

* SCIM resources: ``create``, ``query``, ``replace``, ``patch``, ``delete``,
  ``search`` (GET on the endpoint, or POST ``.search``) followed by the
  resource type (``search User``, ``patch Group``); ``search`` alone at the
  root; ``… Me`` on ``/Me``; ``bulk``; ``discovery`` for
  ``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas``; ``unknown``
  for a path under ``/scim/v2`` that names no resource type.
* The admin API: ``admin`` and the view (``admin policy``, ``admin approvals``,
  ``admin decide_approval``, ``admin autoprovision``).
* Anything else by its view (``healthz``, ``readyz``, ``metrics``); ``unmatched``
  when no route matched.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from flask import Flask, Response, g, request
from werkzeug.routing import Rule

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""An id a proxy sent is kept when it is this plain; anything else could forge log lines, so it is replaced."""

_PLACEHOLDER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
_SCIM_VERBS = {
    "create": "create",
    "query": "query",
    "replace": "replace",
    "patch": "patch",
    "delete": "delete",
    "search": "search",
    "search_with_body": "search",
}
_SCIM_ROOT = {
    "search_root": "search",
    "search_root_with_body": "search",
    "bulk": "bulk",
    "me_query": "query Me",
    "me_replace": "replace Me",
    "me_patch": "patch Me",
    "me_delete": "delete Me",
    "me_create": "create Me",
    "service_provider_config": "discovery",
    "resource_types": "discovery",
    "resource_type": "discovery",
    "schemas": "discovery",
    "schema": "discovery",
}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    started: float
    """Seconds since the epoch."""
    request_id: str
    client: str | None
    """The name of the token's client; None when the request carried no valid token."""
    operation: str
    method: str
    path: str | None
    """The template of the matched route; None when no route matched."""
    status: int
    duration: float
    """Seconds, from the first hook to the response."""


Sink = Callable[[RequestRecord], None]


class Operations:
    """Names each matched route once: (endpoint, resource endpoint) → (operation, path template)."""

    def __init__(self, resource_types: Mapping[str, str], scim_blueprint: str = "scim") -> None:
        self.resource_types = dict(resource_types)
        """Endpoint without its slash → resource type name: ``Users`` → ``User``."""
        self.scim = scim_blueprint + "."
        self._known: dict[tuple[str, str | None], tuple[str, str]] = {}

    def of(
        self, rule: Rule | None, endpoint: str | None, view_args: Mapping[str, str] | None
    ) -> tuple[str, str | None]:
        if rule is None or endpoint is None:
            return "unmatched", None
        resource = (view_args or {}).get("resource_endpoint")
        key = (endpoint, resource)
        found = self._known.get(key)
        if found is None:
            found = self._name(rule, endpoint, resource)
            if resource is None or resource in self.resource_types:  # unknown endpoints are not remembered
                self._known[key] = found
        return found

    def _name(self, rule: Rule, endpoint: str, resource: str | None) -> tuple[str, str]:
        template = rule.rule
        if endpoint.startswith(self.scim):
            view = endpoint[len(self.scim) :]
            type_name = self.resource_types.get(resource) if resource is not None else None
            if resource is not None and type_name is not None:
                template = template.replace("<resource_endpoint>", resource)
            if view in _SCIM_VERBS:
                operation = f"{_SCIM_VERBS[view]} {type_name}" if type_name else "unknown"
            else:
                operation = _SCIM_ROOT.get(view, "unknown")
            template = template.replace("<resource_endpoint>", "{endpoint}").replace("<resource_id>", "{id}")
        else:
            view = endpoint.rsplit(".", 1)[-1]
            operation = f"admin {view}" if template.startswith("/admin/") else view
        return operation, _PLACEHOLDER.sub(r"{\1}", template)


def _request_id() -> str:
    sent = request.headers.get(REQUEST_ID_HEADER)
    if sent and _REQUEST_ID.fullmatch(sent):
        return sent
    return secrets.token_hex(8)


def init_app(app: Flask, sinks: Iterable[Sink], resource_types: Mapping[str, str]) -> None:
    """Observe every request of ``app``; the request id goes back in ``X-Request-ID``."""
    operations = Operations(resource_types)
    sinks = tuple(sinks)

    @app.before_request
    def _start() -> None:
        g.observed = (time.time(), time.perf_counter(), _request_id())

    @app.after_request
    def _finish(response: Response) -> Response:
        started, counter, request_id = g.get("observed") or (time.time(), time.perf_counter(), _request_id())
        duration = time.perf_counter() - counter
        principal = g.get("principal") or g.get("admin_principal")
        operation, path = operations.of(request.url_rule, request.endpoint, request.view_args)
        entry = RequestRecord(
            started,
            request_id,
            principal.client if principal is not None else None,
            operation,
            request.method,
            path,
            response.status_code,
            duration,
        )
        for sink in sinks:
            sink(entry)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
