"""The ASGI application in-process, for fast protocol and property tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from scimhub.scim.limits import Limits
from scimhub.security import TokenVault
from scimhub.server.app import create_app
from scimhub.server.context import AppContext
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("app")
    db = Database(f"sqlite:///{path}/app.db")
    migrate(db)
    tenants = TenantStore(db, TokenVault(Fernet.generate_key()))
    ctx = AppContext(db, ResourceStore(db), tenants, Limits())
    _, token = tenants.create("fuzz", "admin@fuzz.example", "pw-long-enough")
    with TestClient(create_app(ctx), base_url="http://testserver/scim/v2",
                    headers={"Authorization": f"Bearer {token}"},
                    raise_server_exceptions=False) as test_client:
        yield test_client
