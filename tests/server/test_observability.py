"""Metrics, request ids and the request log, in-process on SQLite and on PostgreSQL.

The whole-system checks (a real ``scimhub serve``: JSON lines on stderr, several workers
adding up) are in tests/e2e/test_observability.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from scimhub.logs import FIELDS_KEY, JsonFormatter
from scimhub.scim.limits import Limits
from scimhub.security import TokenVault
from scimhub.server.context import AppContext
from scimhub.server.metrics import Metrics
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore
from scimhub.web import create_app
from tests.support.postgres import temporary_database

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PASSWORD = "Pa55word-never-logged"
METRICS_TOKEN = "metrics-secret-0123456789"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROUTES = {"/scim/v2/Users", "/scim/v2/Users/{id}", "/scim/v2/Users/.search",
          "/scim/v2/Groups", "/scim/v2/Groups/{id}", "/scim/v2/Schemas",
          "/scim/v2/ServiceProviderConfig", "/scim/v2/ResourceTypes", "/healthz", "/signin",
          "unmatched"}


@dataclass
class Observed:
    kind: str
    ctx: AppContext
    client: TestClient
    token: str
    tenant: str

    def scim(self, method: str, path: str, *, headers: dict[str, str] | None = None,
             json: object = None, params: dict[str, str] | None = None) -> Any:
        return self.client.request(method, "/scim/v2" + path, json=json, params=params,
                                   headers={"Authorization": f"Bearer {self.token}",
                                            **(headers or {})})

    def metrics(self) -> str:
        response = self.client.get("/metrics",
                                   headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        return response.text


@pytest.fixture(params=["sqlite", "postgresql"])
def observed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Observed]:
    with ExitStack() as stack:
        url = (stack.enter_context(temporary_database("scimhub_obs"))
               if request.param == "postgresql" else f"sqlite:///{tmp_path}/app.db")
        db = Database(url)
        stack.callback(db.dispose)
        migrate(db)
        tenants = TenantStore(db, TokenVault(Fernet.generate_key()))
        ctx = AppContext(db, ResourceStore(db), tenants, Limits())
        stack.callback(ctx.close)
        tenant, token = tenants.create("contoso", "admin@contoso.example", "pw-long-enough")
        app = create_app(ctx, metrics=Metrics(METRICS_TOKEN), request_log=True)
        client = stack.enter_context(TestClient(app, base_url="http://testserver",
                                                raise_server_exceptions=False))
        yield Observed(request.param, ctx, client, token, str(tenant.id))


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name}


def value(text: str, name: str, **labels: str) -> float:
    return sum(v for key, v in samples(text, name).items()
               if set(labels.items()) <= set(key))


def test_metrics_are_off_unless_configured(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/off.db")
    migrate(db)
    ctx = AppContext(db, ResourceStore(db), TenantStore(db, TokenVault(Fernet.generate_key())),
                     Limits())
    try:
        with TestClient(create_app(ctx)) as client:
            response = client.get("/metrics")
            assert response.status_code == 404
            assert "scimhub_http_requests" not in response.text
            assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    finally:
        ctx.close()
        db.dispose()


def test_requests_are_counted_by_route_template_never_by_id_or_filter(
        observed: Observed, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scimhub.request")
    created = observed.scim("POST", "/Users", json={
        "schemas": [USER], "userName": "ada.lovelace@contoso.example", "password": PASSWORD})
    uid = created.json()["id"]
    assert observed.scim("GET", f"/Users/{uid}").status_code == 200
    assert observed.scim("GET", "/Users", params={
        "filter": 'userName eq "ada.lovelace@contoso.example"'}).status_code == 200
    assert observed.scim("PATCH", f"/Users/{uid}", json={
        "schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active",
                                            "value": False}]}).status_code == 200
    assert observed.scim("GET", "/Users/no-such-id-4242").status_code == 404
    assert observed.scim("GET", "/Nowhere/ada").status_code == 404
    assert observed.scim("GET", "/Schemas").status_code == 200
    assert observed.scim("DELETE", f"/Users/{uid}").status_code == 204
    assert observed.client.get("/signin").status_code == 200

    text = observed.metrics()
    name = "scimhub_http_requests_total"
    assert value(text, name, route="/scim/v2/Users", operation="create", resource_type="User",
                 method="POST", status="201") == 1
    assert value(text, name, route="/scim/v2/Users/{id}", operation="get", status="200") == 1
    assert value(text, name, route="/scim/v2/Users/{id}", operation="get", status="404") == 1
    assert value(text, name, route="/scim/v2/Users", operation="list", status="200") == 1
    assert value(text, name, route="/scim/v2/Users/{id}", operation="patch") == 1
    assert value(text, name, route="/scim/v2/Users/{id}", operation="delete",
                 status="204") == 1
    assert value(text, name, route="unmatched", operation="unmatched", status="404") == 1
    assert value(text, name, route="/scim/v2/Schemas", operation="discovery",
                 resource_type="Schema") == 1
    assert value(text, name, route="/signin", operation="console") == 1
    assert value(text, "scimhub_http_request_duration_seconds_count",
                 route="/scim/v2/Users/{id}", operation="get") == 2
    routes = {dict(key)["route"] for key in samples(text, name)}
    assert routes <= ROUTES, routes - ROUTES
    # Not counted in itself, and nothing a client chose or a secret is in the page.
    assert value(observed.metrics(), name, route="/metrics") == 0
    for secret in (uid, "no-such-id-4242", "Nowhere", "ada", "contoso", observed.tenant,
                   observed.token, PASSWORD):
        assert secret not in text, secret
    assert not _UUID.search(text)

    # The request log: one line per request, with what the brief names and no secret.
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "scimhub.request"]
    assert len(lines) == 11  # the 9 requests above and the 2 scrapes
    logged = "\n".join(lines)
    for secret in (observed.token, PASSWORD, "userName eq", "filter="):
        assert secret not in logged, secret
    first = getattr(next(r for r in caplog.records if r.name == "scimhub.request"), FIELDS_KEY)
    assert {k: first[k] for k in ("tenant_id", "method", "route", "operation",
                                  "resource_type", "status")} == {
        "tenant_id": observed.tenant, "method": "POST", "route": "/scim/v2/Users",
        "operation": "create", "resource_type": "User", "status": 201}
    assert first["request_id"] == created.headers["x-request-id"]
    assert first["duration_ms"] > 0


def test_a_metrics_token_is_required_when_configured(observed: Observed) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": f"Basic {METRICS_TOKEN}"},
                    {"Authorization": f"Bearer {observed.token}"}):
        response = observed.client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "scimhub_" not in response.text
    assert observed.client.post(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 405
    assert "scimhub_http_requests_total" in observed.metrics()


def test_database_errors_are_counted_and_answered_500_with_a_request_id(
        observed: Observed) -> None:
    """A real failure of the database: the users table is gone under the running app."""
    created = observed.scim("POST", "/Users", json={"schemas": [USER], "userName": "grace"})
    uid = created.json()["id"]
    with observed.ctx.db.write() as tx:
        tx.cursor.execute("ALTER TABLE users RENAME TO users_gone")
    try:
        failed = observed.scim("GET", f"/Users/{uid}", headers={"X-Request-Id": "trace-500"})
    finally:
        with observed.ctx.db.write() as tx:
            tx.cursor.execute("ALTER TABLE users_gone RENAME TO users")
    assert failed.status_code == 500
    assert failed.json()["status"] == "500"
    assert failed.headers["x-request-id"] == "trace-500"
    text = observed.metrics()
    kind = "OperationalError" if observed.kind == "sqlite" else "ProgrammingError"
    assert value(text, "scimhub_database_errors_total", kind=kind) == 1
    assert value(text, "scimhub_database_errors_total") == 1
    assert value(text, "scimhub_http_requests_total", route="/scim/v2/Users/{id}",
                 status="500") == 1
    assert observed.scim("GET", f"/Users/{uid}").status_code == 200
    assert value(observed.metrics(), "scimhub_database_errors_total") == 1


@pytest.mark.parametrize("given", [
    "a" * 129, "has space", "semi;colon", "quote\"d", "<script>", "é".encode("latin-1"),
    "line\tbreak", ""])
def test_an_unsafe_request_id_is_replaced(observed: Observed, given: str | bytes) -> None:
    response = observed.client.get("/healthz", headers=[(b"X-Request-Id", given if
                                                         isinstance(given, bytes)
                                                         else given.encode())])
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_a_safe_request_id_is_kept_and_a_missing_one_generated(observed: Observed) -> None:
    given = "Root:1-67891233-abcdef012345678912345678.span_7-x"
    given += "a" * (128 - len(given))
    for path in ("/healthz", "/signin", "/scim/v2/Users", "/scim/v2/Nowhere", "/metrics"):
        assert observed.client.get(path, headers={"X-Request-Id": given}
                                   ).headers["x-request-id"] == given
    ids = {observed.client.get("/signin").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)
