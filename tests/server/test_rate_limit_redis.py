"""Tenant rate limits with their counters in a real redis-server: one limit for every process
that shares it, and requests still served (limited per process) while Redis does not answer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from scimhub.rates import parse_rate
from scimhub.server.ratelimit import KEY_PREFIX, TenantRateLimits
from scimhub.store.database import Database
from tests.server.ratelimited import database, new_tenant, probe, scim_app, statuses
from tests.support.redis import RedisServer, free_port, redis_server


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database("postgresql", tmp_path_factory.mktemp("rate-redis")) as found:
        yield found


@pytest.fixture()
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


def test_two_apps_on_one_redis_share_one_limit(db: Database, redis: RedisServer) -> None:
    tenant, token = new_tenant(db)
    rate = parse_rate("6/minute")
    with scim_app(db, TenantRateLimits(rate, redis.url)) as first, \
            scim_app(db, TenantRateLimits(rate, redis.url)) as second:
        answers = [probe(app, token).status_code for _ in range(6) for app in (first, second)]
    assert answers.count(200) == 6 and answers.count(429) == 6, answers
    keys = [k.decode() for k in redis.client().keys(f"{KEY_PREFIX}*")]
    assert keys and all(tenant.id in k for k in keys), "the counters are in Redis, by tenant"


def test_without_redis_each_app_counts_on_its_own(db: Database) -> None:
    _tenant, token = new_tenant(db)
    rate = parse_rate("6/minute")
    with scim_app(db, TenantRateLimits(rate)) as first, \
            scim_app(db, TenantRateLimits(rate)) as second:
        answers = [probe(app, token).status_code for _ in range(7) for app in (first, second)]
    assert answers.count(200) == 12, answers


def test_redis_unreachable_fails_open_to_the_process_and_logs_once(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    _tenant, token = new_tenant(db)
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    with caplog.at_level(logging.INFO, "scimhub.ratelimit"), \
            scim_app(db, TenantRateLimits(parse_rate("5/minute"), nowhere)) as client:
        assert statuses(client, token, 20) == [200] * 5 + [429] * 15
    errors = [r for r in caplog.records
              if r.name == "scimhub.ratelimit" and r.levelno == logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "Redis does not answer" in errors[0].getMessage()


def test_the_shared_limit_returns_once_redis_answers_again(
        db: Database, redis: RedisServer) -> None:
    _tenant, token = new_tenant(db)
    now = [0.0]
    limits = TenantRateLimits(parse_rate("4/minute"), redis.url, clock=lambda: now[0])
    client = redis.client()
    with scim_app(db, limits) as app:
        assert statuses(app, token, 2) == [200, 200]
        client.shutdown(nosave=True)
        redis.process.wait(timeout=10)
        assert statuses(app, token, 5) == [200] * 4 + [429], "counted in the process now"
        with redis_server(redis.workdir, port=redis.port) as again:  # empty: nothing saved
            assert statuses(app, token, 1) == [429], "Redis is not asked again at once"
            now[0] += 6  # past RETRY_SHARED_SECONDS
            assert statuses(app, token, 5) == [200] * 4 + [429], "Redis's (fresh) count again"
            assert again.client().keys(f"{KEY_PREFIX}*")
