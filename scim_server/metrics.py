"""Prometheus metrics at ``/metrics``: requests by operation and status, their durations, refusals by client.

The instruments are created once per process, on first use, so that every
application built in a process counts into the same series. Under
``scim-server serve`` each gunicorn worker is a process of its own, and a
scrape reaches one of them: the command therefore runs prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, see ``prepare_multiprocess``),
in which every worker writes its counts to a memory-mapped file and
``/metrics`` adds up the files of all of them.

``/metrics`` needs a bearer token with the ``metrics`` scope, as the admin
API needs its scopes (the same errors, the same rate limit), unless
``SCIM_METRICS_PUBLIC`` opens it to whoever reaches the port.
"""

from __future__ import annotations

import functools
import glob
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, values
from prometheus_client.exposition import choose_encoder

from .admin import admin_blueprint, principal

if TYPE_CHECKING:
    from .observe import RequestRecord

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
SCOPE = "metrics"

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""From a cached GET (milliseconds) to a /Bulk of 1,000 terminations (about ten seconds)."""


@dataclass(frozen=True)
class Instruments:
    requests: Counter
    duration: Histogram
    rate_limited: Counter
    rate_limit_failures: Counter


@functools.cache
def instruments() -> Instruments:
    """The process's instruments, created on first use (after ``prepare_multiprocess``, when it runs)."""
    return Instruments(
        requests=Counter(
            "scim_requests",
            "HTTP requests served, by operation and status.",
            ["operation", "status"],
            registry=REGISTRY,
        ),
        duration=Histogram(
            "scim_request_duration_seconds",
            "Time to serve a request, by operation.",
            ["operation"],
            buckets=DURATION_BUCKETS,
            registry=REGISTRY,
        ),
        rate_limited=Counter(
            "scim_rate_limited",
            "Requests refused with 429 by the rate limit, by client.",
            ["client"],
            registry=REGISTRY,
        ),
        rate_limit_failures=Counter(
            "scim_rate_limit_store_errors",
            "Requests let through unchecked because the rate limits' store (Redis) did not answer.",
            registry=REGISTRY,
        ),
    )


_series: dict[tuple[str, int], tuple[Any, Any]] = {}
"""(operation, status) → its request counter and duration histogram: ``labels()`` takes a lock each time."""


def record(entry: RequestRecord) -> None:
    """Count one served request (an ``observe`` sink): a dictionary look-up and two additions."""
    key = (entry.operation, entry.status)
    series = _series.get(key)
    if series is None:
        meters = instruments()
        series = _series[key] = (
            meters.requests.labels(entry.operation, str(entry.status)),
            meters.duration.labels(entry.operation),
        )
    series[0].inc()
    series[1].observe(entry.duration)
    if entry.status == 429 and entry.client is not None:
        instruments().rate_limited.labels(entry.client).inc()


blueprint = admin_blueprint("metrics", __name__)


@blueprint.get("/metrics")
def metrics() -> Response:
    """The exposition, in the format the scraper asks for (Prometheus text by default, or OpenMetrics)."""
    if not current_app.extensions["scim_server"].settings.metrics_public:
        principal(SCOPE)
    registry = REGISTRY
    if os.environ.get(MULTIPROCESS_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type)


def init_app(app: Flask) -> None:
    instruments()
    app.register_blueprint(blueprint)


def prepare_multiprocess() -> tuple[str, bool]:
    """Switch this process, and the workers it forks, to multiprocess mode; returns the directory and
    whether it was made here (and so is the caller's to remove).

    ``PROMETHEUS_MULTIPROC_DIR`` when set (its old files are removed: they are a previous run's),
    else a new temporary directory. prometheus_client chooses how values are kept when it is
    imported, which has happened by now, so the choice is made again.
    """
    directory = os.environ.get(MULTIPROCESS_VARIABLE)
    created = not directory
    if not directory:
        directory = tempfile.mkdtemp(prefix="scim-metrics-")
    os.makedirs(directory, exist_ok=True)
    for stale in glob.glob(os.path.join(directory, "*.db")):
        os.remove(stale)
    os.environ[MULTIPROCESS_VARIABLE] = directory
    values.ValueClass = values.get_value_class()
    return directory, created


def worker_exited(pid: int) -> None:
    """gunicorn's ``child_exit``: a dead worker's counts stay in the sums, its live gauges (none yet) go."""
    multiprocess.mark_process_dead(pid)
