"""Tenant rate limits in the process: 429 with Retry-After and a SCIM error body past the limit,
the tenant's own setting read with its token, one tenant never limiting another."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from scimhub.console.audit import flush as flush_audit
from scimhub.rates import parse_rate
from scimhub.scim.limits import Limits
from scimhub.server.context import AppContext
from scimhub.server.ratelimit import TenantRateLimits
from scimhub.store.audit import AuditQuery, AuditStore
from scimhub.store.database import Database
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore
from scimhub.web import create_app as create_web_app
from tests.server.ratelimited import (
    ERROR,
    database,
    new_tenant,
    probe,
    scim_app,
    statuses,
    tenant_store,
    window_start,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database(request.param, tmp_path_factory.mktemp(f"rate-{request.param}")) as found:
        yield found


def test_past_the_rate_a_scim_429_with_retry_after_then_allowed_again(db: Database) -> None:
    _tenant, token = new_tenant(db)
    with scim_app(db, TenantRateLimits(parse_rate("5/s"))) as client:
        window_start()
        assert statuses(client, token, 5) == [200] * 5, "the burst is the RATE's count"
        refused = probe(client, token)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        body = refused.json()
        assert body["schemas"] == [ERROR] and body["status"] == "429"
        assert "5/s" in body["detail"]
        time.sleep(int(refused.headers["retry-after"]))
        assert probe(client, token).status_code == 200, "allowed again after Retry-After"
        time.sleep(2)  # two windows: the burst is forgotten
        window_start()
        assert statuses(client, token, 6) == [200] * 5 + [429]


def test_retry_after_counts_the_seconds_left_in_a_longer_window(db: Database) -> None:
    _tenant, token = new_tenant(db)
    with scim_app(db, TenantRateLimits(parse_rate("3/minute"))) as client:
        assert statuses(client, token, 4) == [200] * 3 + [429]
        wait = int(probe(client, token).headers["retry-after"])
        left = 60 - time.time() % 60
        assert 1 <= wait <= 60 and abs(wait - left) <= 2, (wait, left)


def test_the_tenants_own_setting_overrides_the_default_within_a_second(
        db: Database) -> None:
    tenants = tenant_store(db)
    tenant, token = new_tenant(db)
    with scim_app(db, TenantRateLimits(parse_rate("5/s"))) as client:
        tenants.set_rate_limit(tenant.id, "2/s")
        window_start()
        assert statuses(client, token, 3) == [200, 200, 429]
        tenants.set_rate_limit(tenant.id, "off")
        time.sleep(1.05)  # a refused token is answered from memory for up to a second
        assert statuses(client, token, 30) == [200] * 30
        tenants.set_rate_limit(tenant.id, None)  # back to the server's default
        time.sleep(1)
        window_start()
        assert statuses(client, token, 6) == [200] * 5 + [429]


def test_a_tenant_limit_applies_without_a_server_default(db: Database) -> None:
    tenants = tenant_store(db)
    limited, limited_token = new_tenant(db)
    _free, free_token = new_tenant(db)
    tenants.set_rate_limit(limited.id, "3/minute")
    with scim_app(db, TenantRateLimits()) as client:
        assert statuses(client, free_token, 40) == [200] * 40, "no default: no limit"
        assert statuses(client, limited_token, 4) == [200] * 3 + [429]


def test_one_tenant_limited_does_not_limit_another(db: Database) -> None:
    _a, flooder = new_tenant(db)
    _b, quiet = new_tenant(db)
    with scim_app(db, TenantRateLimits(parse_rate("5/minute"))) as client:
        assert statuses(client, flooder, 20) == [200] * 5 + [429] * 15
        assert statuses(client, quiet, 5) == [200] * 5


def test_unauthenticated_requests_are_not_counted(db: Database) -> None:
    _tenant, token = new_tenant(db)
    with scim_app(db, TenantRateLimits(parse_rate("5/minute"))) as client:
        wrong = token[:-1] + ("x" if token[-1] != "x" else "y")
        assert statuses(client, wrong, 10) == [401] * 10
        assert statuses(client, token, 6) == [200] * 5 + [429]


def test_a_stored_setting_that_does_not_read_falls_back_to_the_default(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    tenant, token = new_tenant(db)
    tenant_store(db).set_rate_limit(tenant.id, "lots")  # around `tenant limit`, which refuses it
    with caplog.at_level(logging.ERROR, "scimhub.ratelimit"), \
            scim_app(db, TenantRateLimits(parse_rate("3/minute"))) as client:
        assert statuses(client, token, 5) == [200] * 3 + [429] * 2
    logged = [r for r in caplog.records if r.name == "scimhub.ratelimit"]
    assert len(logged) == 1 and "'lots'" in logged[0].getMessage()


def test_every_scim_endpoint_counts(db: Database) -> None:
    _tenant, token = new_tenant(db)
    auth = {"Authorization": f"Bearer {token}"}
    with scim_app(db, TenantRateLimits(parse_rate("3/minute"))) as client:
        assert client.get("/ServiceProviderConfig", headers=auth).status_code == 200
        assert client.get("/Schemas", headers=auth).status_code == 200
        assert client.get("/Groups", headers=auth).status_code == 200
        refused = client.post("/Users", headers=auth, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"})
        assert refused.status_code == 429 and refused.json()["status"] == "429"
        assert client.get("/Users", headers=auth).status_code == 429


def test_a_refused_token_is_refused_from_memory_until_its_window_resets(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first refusal of a window, the same credentials are answered before the SCIM
    routes run: no token lookup, the same 429; other credentials go through as usual."""
    _tenant, token = new_tenant(db)
    _other, other_token = new_tenant(db)
    lookups: list[str] = []
    identify = TenantStore.identify

    def counted(self: TenantStore, presented: str) -> object:
        lookups.append(presented)
        return identify(self, presented)

    monkeypatch.setattr(TenantStore, "identify", counted)
    with scim_app(db, TenantRateLimits(parse_rate("3/minute"))) as client:
        assert statuses(client, token, 4) == [200] * 3 + [429]
        looked_up = len(lookups)
        for _ in range(20):
            refused = probe(client, token)
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert refused.json()["schemas"] == [ERROR] and refused.json()["status"] == "429"
        assert len(lookups) == looked_up, "a refused token was looked up again"
        assert probe(client, other_token).status_code == 200
        wrong = client.get("/Users", headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401
        assert len(lookups) == looked_up + 2


def test_a_refused_write_is_not_in_the_audit_log(db: Database) -> None:
    """A flood of refused writes must not become a flood of audit rows."""
    tenant, token = new_tenant(db)
    ctx = AppContext(db, ResourceStore(db), tenant_store(db), Limits(),
                     TenantRateLimits(parse_rate("2/minute")))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_web_app(ctx), base_url="http://testserver/scim/v2") as client:
        sent = [client.post("/Users", json={"schemas": [USER], "userName": f"u{i}@example.com"},
                            headers=headers).status_code for i in range(6)]
        assert sent == [201, 201, 429, 429, 429, 429]
    assert flush_audit()
    page = AuditStore(db).page(tenant.id, AuditQuery(), 0, 50)
    assert [e.status for e in page.entries] == [201, 201]
