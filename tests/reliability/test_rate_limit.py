"""Rate limits per client: 429 with Retry-After past the limit, other clients untouched, one limit for every
process — through the database by default, through Redis when configured."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from scim_server import ScimServerState
from scim_server.config import ConfigurationError, load_settings
from scim_server.ratelimit import DatabaseBackend, RateLimiter, RateLimitExceeded, RateLimitRow
from tests.conftest import ScimClient, error, ok
from tests.reliability.configured import Apps, configured_apps

REDIS_URL = os.environ.get("SCIM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def apps(database_url: str, state: ScimServerState) -> Iterator[Apps]:
    with configured_apps(database_url) as built:
        yield built


@pytest.fixture
def name() -> str:
    """A client name of this test alone: buckets are kept by client name."""
    return f"client-{uuid.uuid4().hex[:12]}"


def redis_or_skip() -> None:
    try:
        import redis
    except ImportError:
        pytest.skip("the redis package is not installed")
    try:
        connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        connection.ping()
        connection.close()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")


def retry_after(response: Any) -> int:
    value = response.headers["Retry-After"]
    assert value.isdigit(), value  # delay-seconds, a whole number (RFC 9110 §10.2.3)
    return int(value)


def test_over_the_limit_a_client_gets_a_scim_429_with_retry_after(apps: Apps, make_token: Any, name: str) -> None:
    client = ScimClient(apps.build(rate_limit=0.01, rate_limit_burst=3).test_client(), make_token(name))
    for _ in range(3):
        ok(client.get("/Users"))
    refused = client.get("/Users")
    body = error(refused, 429)
    assert name in body["detail"]
    assert 1 <= retry_after(refused) <= 100  # one request every 100 s
    assert str(retry_after(refused)) in body["detail"]


def test_retry_after_says_when_the_next_request_is_admitted(apps: Apps, make_token: Any, name: str) -> None:
    app = apps.build(rate_limit=1, rate_limit_burst=2)
    now = [1_900_000_000.0]
    app.extensions["scim_server"].limiter.clock = lambda: now[0]
    client = ScimClient(app.test_client(), make_token(name))
    ok(client.get("/Users"))
    ok(client.get("/Users"))
    refused = client.get("/Users")
    error(refused, 429)
    wait = retry_after(refused)
    assert wait == 1
    now[0] += wait - 0.01
    error(client.get("/Users"), 429)  # refusals do not use up the bucket, but the time has not come yet
    now[0] += 0.01
    ok(client.get("/Users"))
    error(client.get("/Users"), 429)  # one interval gives back one request, not a new burst
    now[0] += 2
    ok(client.get("/Users"))
    ok(client.get("/Users"))


def test_other_clients_are_unaffected(apps: Apps, make_token: Any, name: str) -> None:
    app = apps.build(rate_limit=0.01, rate_limit_burst=2)
    noisy = ScimClient(app.test_client(), make_token(name))
    quiet = ScimClient(app.test_client(), make_token(name + "-quiet"))
    for _ in range(2):
        ok(noisy.get("/Users"))
    error(noisy.get("/Users"), 429)
    for _ in range(2):
        ok(quiet.get("/Users"))
    error(ScimClient(app.test_client(), "scim_wrong").get("/Users"), 401)  # no client, so no limit: 401, not 429
    ok(ScimClient(app.test_client(), None).get("/ServiceProviderConfig"))  # discovery needs no token, no limit


def test_every_token_of_a_client_shares_its_limit(apps: Apps, make_token: Any, name: str) -> None:
    app = apps.build(rate_limit=0.01, rate_limit_burst=2)
    ok(ScimClient(app.test_client(), make_token(name)).get("/Users"))
    ok(ScimClient(app.test_client(), make_token(name)).get("/Users"))
    error(ScimClient(app.test_client(), make_token(name)).get("/Users"), 429)


def test_the_admin_api_is_limited_too(apps: Apps, make_token: Any, name: str) -> None:
    app = apps.build(rate_limit=0.01, rate_limit_burst=2)
    token = make_token(name, ("read", "admin"))
    ok(ScimClient(app.test_client(), token).get("/Users"))
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/admin/policy", headers=headers).status_code == 200
    refused = app.test_client().get("/admin/policy", headers=headers)
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "too_many_requests"
    assert retry_after(refused) >= 1
    error(ScimClient(app.test_client(), token).get("/Users"), 429)  # one limit for both APIs


def test_the_limit_is_shared_by_two_processes_on_one_database(apps: Apps, make_token: Any, name: str) -> None:
    token = make_token(name)
    first = ScimClient(apps.build(rate_limit=0.01, rate_limit_burst=3).test_client(), token)
    second = ScimClient(apps.build(rate_limit=0.01, rate_limit_burst=3).test_client(), token)
    ok(first.get("/Users"))
    ok(second.get("/Users"))
    ok(first.get("/Users"))
    error(second.get("/Users"), 429)
    error(first.get("/Users"), 429)


def test_concurrent_requests_get_exactly_the_burst(state: ScimServerState, name: str) -> None:
    """The UPSERT is atomic: 8 threads × 6 requests at one instant against a burst of 20 admit exactly 20."""
    limiter = RateLimiter(DatabaseBackend(state.reads), rate=0.01, burst=20, clock=lambda: 1_900_000_000.0)
    admitted: list[int] = []
    start = threading.Barrier(8)

    def run() -> None:
        start.wait()
        count = 0
        for _ in range(6):
            try:
                limiter.check(name)
                count += 1
            except RateLimitExceeded:
                pass
        admitted.append(count)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 20
    with state.engine.begin() as connection:
        connection.execute(RateLimitRow.__table__.delete().where(RateLimitRow.client == name))


def test_the_limit_is_shared_through_redis(apps: Apps, make_token: Any, name: str) -> None:
    redis_or_skip()
    token = make_token(name)
    first = ScimClient(apps.build(rate_limit=0.01, rate_limit_burst=2, redis_url=REDIS_URL).test_client(), token)
    second = ScimClient(apps.build(rate_limit=0.01, rate_limit_burst=2, redis_url=REDIS_URL).test_client(), token)
    try:
        ok(first.get("/Users"))
        ok(second.get("/Users"))
        refused = first.get("/Users")
        error(refused, 429)
        assert 1 <= retry_after(refused) <= 100
        error(second.get("/Users"), 429)
        ok(ScimClient(first.flask, make_token(name + "-other")).get("/Users"))
        with apps.built[0].extensions["scim_server"].engine.connect() as connection:  # Redis, not the database
            assert connection.execute(select(RateLimitRow).where(RateLimitRow.client == name)).first() is None
    finally:
        backend = apps.built[0].extensions["scim_server"].limiter.backend
        backend.client.delete(backend.PREFIX + name, backend.PREFIX + name + "-other")


def test_redis_paces_like_the_database(apps: Apps, make_token: Any, name: str) -> None:
    redis_or_skip()
    app = apps.build(rate_limit=1, rate_limit_burst=1, redis_url=REDIS_URL)
    limiter = app.extensions["scim_server"].limiter
    now = [1_900_000_000.0]
    limiter.clock = lambda: now[0]
    client = ScimClient(app.test_client(), make_token(name))
    try:
        ok(client.get("/Users"))
        refused = client.get("/Users")
        error(refused, 429)
        assert retry_after(refused) == 1
        now[0] += 1
        ok(client.get("/Users"))
    finally:
        limiter.backend.client.delete(limiter.backend.PREFIX + name)


def test_an_unreachable_redis_lets_requests_through(apps: Apps, make_token: Any, name: str) -> None:
    """Fail open: the rate limiter's outage must not stop provisioning; the metric counts what went unchecked."""
    pytest.importorskip("redis")
    unchecked = REGISTRY.get_sample_value("scim_rate_limit_store_errors_total") or 0
    app = apps.build(rate_limit=0.01, rate_limit_burst=1, redis_url="redis://127.0.0.1:1/0")
    client = ScimClient(app.test_client(), make_token(name))
    for _ in range(3):
        ok(client.get("/Users"))
    assert REGISTRY.get_sample_value("scim_rate_limit_store_errors_total") == unchecked + 3


def test_off_by_default(state: ScimServerState) -> None:
    assert load_settings(environ={}).rate_limit == 0
    assert state.limiter is None


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"SCIM_RATE_LIMIT": "-1"}, "SCIM_RATE_LIMIT"),
        ({"SCIM_RATE_LIMIT": "fast"}, "SCIM_RATE_LIMIT"),
        ({"SCIM_RATE_LIMIT": "0.0000001"}, "SCIM_RATE_LIMIT"),
        ({"SCIM_RATE_LIMIT_BURST": "10000000"}, "SCIM_RATE_LIMIT_BURST"),
        ({"SCIM_RATE_LIMIT_BURST": "0"}, "SCIM_RATE_LIMIT_BURST"),
        ({"SCIM_REDIS_URL": "http://127.0.0.1:6379"}, "SCIM_REDIS_URL"),
    ],
)
def test_invalid_limits_name_their_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        load_settings(environ=environ)
