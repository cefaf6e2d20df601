"""/metrics: Prometheus text that parses, counts that go up by exactly what was served, a token with the
``metrics`` scope to read it, and one set of counts for all the workers of ``scim-server serve``."""

from __future__ import annotations

import http.client
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from scim_server import ScimServerState
from tests.conftest import USER, ScimClient, error, ok
from tests.reliability.configured import Apps, configured_apps
from tests.reliability.conftest import Server, create_token, server_env

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample by (name, sorted labels); the parser raises on anything that is not the text format."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_served(samples: Samples, operation: str, status: int) -> float:
    return samples.get(("scim_requests_total", (("operation", operation), ("status", str(status)))), 0.0)


@pytest.fixture
def scrape(app: Flask, make_token: Any) -> Callable[[], Samples]:
    headers = {"Authorization": f"Bearer {make_token('prometheus', ('metrics',))}"}

    def get() -> Samples:
        response = app.test_client().get("/metrics", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.content_type.startswith("text/plain; version=0.0.4")
        return parse(response.get_data(as_text=True))

    return get


@pytest.fixture
def apps(database_url: str, state: ScimServerState) -> Iterator[Apps]:
    with configured_apps(database_url) as built:
        yield built


def test_metrics_need_a_token_with_the_metrics_scope(app: Flask, make_token: Any) -> None:
    flask = app.test_client()
    unauthenticated = flask.get("/metrics")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")
    for scopes in (("read", "write"), ("admin",)):
        denied = flask.get("/metrics", headers={"Authorization": f"Bearer {make_token('idp', scopes)}"})
        assert denied.status_code == 403, scopes
        assert denied.get_json()["error"] == "forbidden"


def test_requests_are_counted_by_operation_and_status(client: ScimClient, scrape: Callable[[], Samples]) -> None:
    before = scrape()
    ids = [ok(client.post("/Users", {"schemas": [USER], "userName": f"m{n}"}), 201)["id"] for n in range(3)]
    for user_id in ids[:2]:
        ok(client.get(f"/Users/{user_id}"))
    error(client.get("/Users/does-not-exist"), 404)
    after = scrape()

    assert requests_served(after, "create User", 201) - requests_served(before, "create User", 201) == 3
    assert requests_served(after, "query User", 200) - requests_served(before, "query User", 200) == 2
    assert requests_served(after, "query User", 404) - requests_served(before, "query User", 404) == 1
    count = ("scim_request_duration_seconds_count", (("operation", "create User"),))
    assert after[count] - before.get(count, 0) == 3
    slowest = ("scim_request_duration_seconds_bucket", (("le", "+Inf"), ("operation", "create User")))
    assert after[slowest] == after[count]
    total = ("scim_request_duration_seconds_sum", (("operation", "create User"),))
    assert after[total] > before.get(total, 0)


def test_refusals_of_the_rate_limit_are_counted_per_client(
    apps: Apps, make_token: Any, scrape: Callable[[], Samples]
) -> None:
    name = f"client-{uuid.uuid4().hex[:12]}"
    client = ScimClient(apps.build(rate_limit=0.01, rate_limit_burst=1).test_client(), make_token(name))
    before = scrape()
    ok(client.get("/Users"))
    error(client.get("/Users"), 429)
    error(client.get("/Users"), 429)
    after = scrape()
    assert after[("scim_rate_limited_total", (("client", name),))] == 2
    assert requests_served(after, "search User", 429) - requests_served(before, "search User", 429) == 2


def test_openmetrics_when_the_scraper_asks_for_it(app: Flask, make_token: Any) -> None:
    response = app.test_client().get(
        "/metrics",
        headers={
            "Authorization": f"Bearer {make_token('prometheus', ('metrics',))}",
            "Accept": "application/openmetrics-text; version=1.0.0",
        },
    )
    assert response.status_code == 200
    assert response.content_type.startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).endswith("# EOF\n")


def test_metrics_can_be_made_public(apps: Apps) -> None:
    flask = apps.build(metrics_public=True).test_client()
    assert flask.get("/healthz").status_code == 200
    response = flask.get("/metrics")
    assert response.status_code == 200
    assert requests_served(parse(response.get_data(as_text=True)), "healthz", 200) >= 1


def _get(port: int, path: str, token: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}", "Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def served_by_each_worker(directory: Path, scratch: Path) -> list[float]:
    """The ``search User`` 200s in each worker's own file of counts (``counter_<pid>.db``)."""
    counts = []
    for file in sorted(directory.glob("counter_*.db")):
        alone = scratch / file.stem
        alone.mkdir()
        shutil.copy(file, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts.append(requests_served(parse(generate_latest(registry).decode()), "search User", 200))
    return counts


def test_the_workers_of_one_server_report_one_sum(
    fresh_database: Callable[[str], str], servers: Callable[..., Server], tmp_path: Path
) -> None:
    """Whichever of the two gunicorn workers answers a scrape, it reports every worker's requests."""
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_1.db").write_bytes(b"a previous run's")  # serve starts from zero
    env = {**server_env(fresh_database("metrics")), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    token = create_token(env, "metrics-load")
    scraper = create_token(env, "prometheus", scopes=("metrics",))
    server = servers(env, workers=2)
    server.start()
    deadline = time.monotonic() + 60  # start() waits for the first worker; the load is for both
    while len(list((tmp_path / "metrics").glob("counter_*.db"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    statuses: list[int] = []

    def load() -> None:
        for _ in range(10):
            statuses.append(_get(server.port, "/scim/v2/Users?count=1", token)[0])

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 40
    for _ in range(6):  # each scrape lands on either worker
        status, text = _get(server.port, "/metrics", scraper)
        assert status == 200, text
        assert requests_served(parse(text), "search User", 200) == 40
    by_worker = served_by_each_worker(tmp_path / "metrics", tmp_path)
    assert len(by_worker) == 2 and all(by_worker), by_worker  # both served: the sum is a sum
    server.stop()
