"""The request log: one JSON object per line and request, on the ``scim_server.requests`` logger, at INFO.

    {"ts": "2026-11-23T10:15:02.114Z", "request_id": "5f0c2a9e1b7d4c33", "client": "entra-id",
     "operation": "patch User", "method": "PATCH", "path": "/scim/v2/Users/{id}", "status": 200,
     "duration_ms": 12.41}

What a request carries that could be a secret or personal data — the
``Authorization`` header, the query string (a filter on ``userName``), the
path's ids, the body — is never read here: ``path`` is the route's template
(see ``observe``). At ``SCIM_LOG_LEVEL=WARNING`` the logger is off and a
request costs one cached level check.

The logger writes the bare JSON to stderr through a handler of its own and does
not propagate, so the lines stay parseable whatever format the root logger
has. A deployment that wants them elsewhere gives the logger a handler before
``create_app``; it is then left alone.
"""

from __future__ import annotations

import datetime
import logging
import sys
from typing import TextIO

import orjson

from .observe import RequestRecord

LOGGER_NAME = "scim_server.requests"
log = logging.getLogger(LOGGER_NAME)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time, as the logging module's last resort does:
    a stream captured when the application was built may be closed by the time a request comes."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def init_logger() -> None:
    """Give the request logger its JSON-lines handler, unless the deployment configured it already."""
    if not log.handlers:
        log.addHandler(_StderrHandler())
        log.propagate = False


def log_request(entry: RequestRecord) -> None:
    """Log one served request (an ``observe`` sink); nothing is built when INFO is off."""
    if not log.isEnabledFor(logging.INFO):
        return
    started = datetime.datetime.fromtimestamp(entry.started, datetime.UTC)
    line = {
        "ts": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request_id": entry.request_id,
        "client": entry.client,
        "operation": entry.operation,
        "method": entry.method,
        "path": entry.path,
        "status": entry.status,
        "duration_ms": round(entry.duration * 1000, 2),
    }
    log.info(orjson.dumps(line).decode())
