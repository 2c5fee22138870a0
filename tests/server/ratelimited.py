"""In-process SCIM apps with tenant rate limits, on SQLite and PostgreSQL, for the limit tests.

One database per backend and module (a PostgreSQL database costs more than the tests); each test
builds its own app with the limits it is about and its own tenants, so that no test inherits
another's counters.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from scimhub.scim.limits import Limits
from scimhub.security import TokenVault
from scimhub.server.app import create_app
from scimhub.server.context import AppContext
from scimhub.server.ratelimit import TenantRateLimits
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import Tenant, TenantStore
from tests.support.postgres import temporary_database

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
_names = itertools.count()


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[Database]:
    with ExitStack() as stack:
        url = (stack.enter_context(temporary_database("scimhub_rate")) if kind == "postgresql"
               else f"sqlite:///{workdir}/rate.db")
        db = Database(url)
        stack.callback(db.dispose)
        migrate(db)
        yield db


def tenant_store(db: Database) -> TenantStore:
    return TenantStore(db, TokenVault(Fernet.generate_key()))


def new_tenant(db: Database) -> tuple[Tenant, str]:
    """A tenant no other test has counted requests for."""
    name = f"t{next(_names)}-{uuid.uuid4().hex[:6]}"
    return tenant_store(db).create(name, f"admin@{name}.example", "pw-long-enough")


@contextmanager
def scim_app(db: Database, limits: TenantRateLimits) -> Iterator[TestClient]:
    """The SCIM server alone (no console) with ``limits``; one event loop for its life."""
    ctx = AppContext(db, ResourceStore(db), tenant_store(db), Limits(), limits)
    with TestClient(create_app(ctx), base_url="http://testserver/scim/v2",
                    raise_server_exceptions=False) as client:
        yield client


def probe(client: TestClient, token: str) -> httpx.Response:
    """What Entra sends most: a userName probe."""
    return client.get("/Users", params={"filter": 'userName eq "nobody@example.com"'},
                      headers={"Authorization": f"Bearer {token}"})


def statuses(client: TestClient, token: str, count: int) -> list[int]:
    return [probe(client, token).status_code for _ in range(count)]


def window_start(seconds: int = 1) -> None:
    """Wait for the start of a window (``limits`` aligns them on the epoch), so that a burst
    of a few requests stays inside one window."""
    into = time.time() % seconds
    if into > 0.02:
        time.sleep(seconds - into + 0.005)
