"""The base URL written into answers, without ``--public-url``: remembered per what it is
built from, so each Host (and port, scheme, root path) still gets its own."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from scimhub.scim.limits import Limits
from scimhub.server.app import create_app
from scimhub.server.context import AppContext
from scimhub.server.hosts import HostPolicy
from scimhub.store.database import Database
from scimhub.store.resources import ResourceStore
from tests.server.ratelimited import database, new_tenant, tenant_store

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_each_trusted_host_gets_its_own_base_url(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as db:
        _check_base_urls(db)


def _check_base_urls(db: Database) -> None:
    _tenant, token = new_tenant(db)
    ctx = AppContext(db, ResourceStore(db), tenant_store(db), Limits())
    app = create_app(ctx, HostPolicy.build(trusted=["a.example", "b.example"]))
    headers = {"Authorization": f"Bearer {token}"}
    seen = []
    with TestClient(app) as client:
        for n, (scheme, host) in enumerate([("http", "a.example:8080"), ("http", "b.example"),
                                            ("https", "a.example:8080"),
                                            ("http", "a.example:8080")]):
            created = client.post(f"{scheme}://{host}/scim/v2/Users",
                                  json={"schemas": [USER], "userName": f"u{n}"},
                                  headers={**headers, "Host": host})
            assert created.status_code == 201, created.text
            seen.append(created.headers["location"].rsplit("/Users/", 1)[0])
    assert seen == ["http://a.example:8080/scim/v2", "http://b.example/scim/v2",
                    "https://a.example:8080/scim/v2", "http://a.example:8080/scim/v2"]
