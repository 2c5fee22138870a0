"""The server is a SCIM server on its own; ``scimhub.web`` adds the console beside it.

Why: the console depends on the server, never the reverse (tests/test_layering.py). So the
server's application must stand without the console (SCIM, health, its own minimal page for
a request it refuses) and take what the console brings as arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from scimhub.scim.limits import Limits
from scimhub.security import TokenVault
from scimhub.server.app import create_app as server_app
from scimhub.server.context import AppContext
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore
from scimhub.web import create_app as web_app


@pytest.fixture()
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    db = Database(f"sqlite:///{tmp_path}/app.db")
    migrate(db)
    context = AppContext(db, ResourceStore(db), TenantStore(db, TokenVault(Fernet.generate_key())),
                         Limits())
    yield context
    context.close()
    db.dispose()


def test_the_server_alone_serves_scim_and_health_but_no_console(ctx: AppContext) -> None:
    _, token = ctx.tenants.create("acme", "admin@acme.example", "correct horse battery")
    with TestClient(server_app(ctx), follow_redirects=False) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        created = client.post("/scim/v2/Users", json={"userName": "ada"},
                              headers={"Authorization": f"Bearer {token}"})
        assert created.status_code == 201, created.text
        assert created.headers["location"].startswith("http://testserver/scim/v2/Users/")
        assert client.get("/signin").status_code == 404
        refused = client.get("/signin?q=%00")
        assert refused.status_code == 400
        assert "U+0000" in refused.text and "<h1>Bad request</h1>" in refused.text
        assert refused.headers["cache-control"] == "no-store"


def test_the_composed_application_adds_the_console_and_its_pages(ctx: AppContext) -> None:
    with TestClient(web_app(ctx), follow_redirects=False) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/signin").status_code == 200
        refused = client.get("/signin?q=%00")
        assert refused.status_code == 400
        # The console's own page (its stylesheet, its security headers), not the server's.
        assert "U+0000" in refused.text and "/assets/" in refused.text
        assert "frame-ancestors 'none'" in refused.headers["content-security-policy"]
