"""The storage contract runs against every backend: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from scimhub.scim.types import TenantId
from scimhub.security import TokenVault
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tables import metadata
from scimhub.store.tenants import TenantStore
from tests.support.postgres import temporary_database


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Database]:
    with temporary_database() as url:
        database = Database(url)
        migrate(database)
        yield database
        database.dispose()


def _empty(database: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        database: Database = request.getfixturevalue("postgres_database")
        _empty(database)
        yield database
        return
    database = Database(f"sqlite:///{tmp_path}/store.db")
    migrate(database)
    yield database
    database.dispose()


@pytest.fixture()
def tenants(db: Database) -> TenantStore:
    return TenantStore(db, TokenVault(Fernet.generate_key()))


@pytest.fixture()
def resources(db: Database) -> ResourceStore:
    return ResourceStore(db)


#: Two tenants for the resource tests: every query must be scoped to the one that asks.
@pytest.fixture()
def tenant(tenants: TenantStore) -> TenantId:
    return tenants.create("acme", "admin@acme.example", "pw-long-enough")[0].id


@pytest.fixture()
def rival(tenants: TenantStore) -> TenantId:
    return tenants.create("rival", "admin@rival.example", "pw-long-enough")[0].id
