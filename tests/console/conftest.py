"""The console in-process (stores, pages through Starlette's TestClient)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from scimhub.scim.limits import Limits
from scimhub.security import TokenVault
from scimhub.server.context import AppContext
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tables import metadata
from scimhub.store.tenants import TenantStore
from scimhub.web import create_app
from tests.support.postgres import temporary_database

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Database]:
    with temporary_database("scimhub_console") as url:
        database = Database(url)
        migrate(database)
        yield database
        database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Every console store and page runs on both databases."""
    if request.param == "postgresql":
        database: Database = request.getfixturevalue("postgres_database")
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")
        yield database
        return
    database = Database(f"sqlite:///{tmp_path}/console.db")
    migrate(database)
    yield database
    database.dispose()


@pytest.fixture()
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/console-sqlite.db")
    migrate(database)
    yield database
    database.dispose()


@pytest.fixture()
def tenants(db: Database) -> TenantStore:
    return TenantStore(db, TokenVault(Fernet.generate_key()))


@dataclass
class Site:
    """One app with tenants acme and globex, each with an admin and an API token."""

    ctx: AppContext
    tokens: dict[str, str]

    def client(self, base_url: str = "http://testserver") -> TestClient:
        return TestClient(create_app(self.ctx), base_url=base_url, follow_redirects=False)


@pytest.fixture()
def site(db: Database, tenants: TenantStore) -> Site:
    ctx = AppContext(db, ResourceStore(db), tenants, Limits())
    tokens = {name: tenants.create(name, f"admin@{name}.example", PASSWORD)[1]
              for name in ("acme", "globex")}
    return Site(ctx, tokens)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, tenant: str = "acme", password: str = PASSWORD) -> None:
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"email": f"admin@{tenant}.example",
                                            "password": password, "csrf": token})
    assert response.status_code == 303, response.text
