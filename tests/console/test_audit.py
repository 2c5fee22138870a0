"""Every SCIM write a tenant sends is recorded once, after the response, and never breaks it."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest
from starlette.testclient import TestClient

from scimhub.console.audit import AuditWriter, describe, flush
from scimhub.scim.types import TenantId
from scimhub.store.audit import AuditEntry, AuditQuery, AuditStore
from tests.console.conftest import Site
from tests.e2e.helpers import CORE_USER, PATCH_OP


def _scim(site: Site, tenant: str = "acme") -> TestClient:
    client = site.client()
    client.headers["Authorization"] = f"Bearer {site.tokens[tenant]}"
    return client


def _log(site: Site, tenant: str = "acme", **query: Any) -> list[AuditEntry]:
    assert flush(), "the audit thread did not write what was queued"
    tenant_id = site.ctx.tenants.by_name(tenant).id
    return AuditStore(site.ctx.db).page(tenant_id, AuditQuery(**query), 0, 100).entries


def _user(client: TestClient, name: str) -> dict[str, Any]:
    response = client.post("/scim/v2/Users", json={"schemas": [CORE_USER], "userName": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_resource_is_read_from_the_path_or_a_creates_location() -> None:
    assert describe("PATCH", "/scim/v2/Users/abc", None) == ("User", "abc")
    assert describe("DELETE", "/scim/v2/Groups/g1/", None) == ("Group", "g1")
    assert describe("POST", "/scim/v2/Users", "http://h/scim/v2/Users/new-id") == ("User", "new-id")
    assert describe("POST", "/scim/v2/Users", None) == ("User", None)
    assert describe("POST", "/scim/v2/Bulk", None) == (None, None)


def test_every_write_is_recorded_with_its_result(site: Site) -> None:
    client = _scim(site)
    user = _user(client, "alice")
    assert client.patch(f"/scim/v2/Users/{user['id']}", json={
        "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active",
                                               "value": False}]}).status_code == 200
    assert client.post("/scim/v2/Users", json={"schemas": [CORE_USER],
                                               "userName": "alice"}).status_code == 409
    assert client.delete(f"/scim/v2/Users/{user['id']}").status_code == 204
    log = _log(site)
    assert [(e.method, e.resource_type, e.resource_id, e.status) for e in log] == [
        ("DELETE", "User", user["id"], 204),
        ("POST", "User", None, 409),
        ("PATCH", "User", user["id"], 200),
        ("POST", "User", user["id"], 201),
    ]
    assert log[1].detail is not None and "alice" in log[1].detail
    assert all(e.client == "testclient" and e.path.startswith("/scim/v2/Users") for e in log)


def test_reads_searches_and_unauthenticated_writes_are_not_recorded(site: Site) -> None:
    client = _scim(site)
    client.get("/scim/v2/Users")
    client.post("/scim/v2/Users/.search", json={"filter": 'userName eq "x"'})
    anonymous = site.client()
    response = anonymous.post("/scim/v2/Users", json={"schemas": [CORE_USER], "userName": "x"})
    assert response.status_code == 401
    assert _log(site) == []


def test_each_tenant_sees_only_its_own_writes(site: Site) -> None:
    _user(_scim(site, "acme"), "a-user")
    _user(_scim(site, "globex"), "g-user")
    assert len(_log(site, "acme")) == len(_log(site, "globex")) == 1


def test_a_failing_audit_insert_does_not_fail_the_scim_response(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(_self: AuditStore, _entries: list[tuple[TenantId, AuditEntry]]) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(AuditStore, "record", broken)
    response = _scim(site).post("/scim/v2/Users", json={"schemas": [CORE_USER],
                                                        "userName": "bob"})
    assert response.status_code == 201
    assert flush()
    assert "could not record 1 SCIM write(s) in the audit log: POST /scim/v2/Users" \
        in caplog.text


def test_log_filters_by_resource_and_time(site: Site) -> None:
    client = _scim(site)
    first, second = _user(client, "first"), _user(client, "second")
    assert [e.resource_id for e in _log(site, resource_id=first["id"])] == [first["id"]]
    assert len(_log(site, resource_type="User")) == 2
    assert _log(site, resource_type="Group") == []
    every = _log(site)
    assert [e.resource_id for e in _log(site, since=every[0].at)] == [second["id"]]
    assert [e.resource_id for e in _log(site, until=every[0].at)] == [first["id"]]


class CountingStore:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def record(self, entries: list[tuple[TenantId, AuditEntry]]) -> None:
        self.batches.append(len(entries))


def test_writes_that_finish_together_share_one_transaction() -> None:
    store = CountingStore()
    entry = AuditEntry("2025-01-01T00:00:00.000000Z", "PATCH", "/scim/v2/Users/u", "User", "u",
                       "127.0.0.1", 200, 1)
    writer = AuditWriter(cast(AuditStore, store))
    for _ in range(3):
        writer.add(TenantId("t"), entry)
    assert flush()
    writer.add(TenantId("t"), entry)
    assert flush()
    assert store.batches == [3, 1]


def test_the_request_does_not_wait_for_its_audit_row(site: Site) -> None:
    """The response is sent before the row is written: a slow audit write (a database
    busy elsewhere) never delays a SCIM answer, and the row arrives after it."""
    release, events = threading.Event(), []
    record = AuditStore.record

    def slow(self: AuditStore, entries: list[tuple[TenantId, AuditEntry]]) -> None:
        release.wait(2)
        events.append("recorded")
        record(self, entries)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(AuditStore, "record", slow)
        _user(_scim(site), "carol")  # answered while the audit thread is held
        events.append("answered")
        release.set()
        assert [e.status for e in _log(site)] == [201]
    assert events == ["answered", "recorded"]
