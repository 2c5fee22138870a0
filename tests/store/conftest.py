"""The storage contract runs against every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from scimhub.security import TokenVault
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore


@pytest.fixture(params=["sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
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
