"""A token reset is refused at once by every process serving the database.

The token lookup runs per request as one statement outside a transaction, on a connection each
thread keeps (SQLite) or a pooled one in autocommit (PostgreSQL): nothing may remember an
accepted token past its revocation. Two ``scimhub serve`` workers are warmed with the token
(both have served it, so each holds whatever it would cache), the token is reset in this
process, and from then on every request to either worker is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scimhub.scim.types import TenantId
from scimhub.security import TokenVault
from scimhub.store.database import Database
from scimhub.store.tenants import TenantStore
from tests.e2e.server import ServerProcess
from tests.support.postgres import temporary_database

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/scimhub.db"
        return
    with temporary_database("scimhub_revocation") as url:
        yield url


def _worker(response: httpx.Response) -> str:
    """Which process answered: a fresh request id starts with its process's random prefix."""
    return response.headers["x-request-id"][:16]


def test_a_reset_token_is_refused_at_once_by_every_worker(
        tmp_path: Path, database_url: str) -> None:
    server = ServerProcess(database=database_url, workdir=tmp_path, workers=2)
    tenant = server.create_tenant("contoso")
    server.start()
    try:
        old = {"Authorization": f"Bearer {tenant['token']}"}
        seen: set[str] = set()
        for _ in range(400):  # a new connection each: the kernel spreads them over workers
            answer = httpx.get(f"{server.scim_url}/Users", headers=old, timeout=10)
            assert answer.status_code == 200
            seen.add(_worker(answer))
            if len(seen) == 2:
                break
        assert len(seen) == 2, "one worker never answered"

        db = Database(database_url)
        try:
            store = TenantStore(db, TokenVault.from_environment(str(tmp_path / "secret.key")))
            new = store.reset_token(TenantId(tenant["tenant_id"]))
        finally:
            db.dispose()

        refused: set[str] = set()
        with httpx.Client(timeout=10) as kept:  # a kept-alive connection too
            for n in range(200):
                client = kept if n % 2 else httpx
                answer = client.get(f"{server.scim_url}/Users", headers=old)
                assert answer.status_code == 401, "a revoked token was served"
                refused.add(_worker(answer))
                if len(refused) == 2 and n > 20:
                    break
        assert len(refused) == 2, "one worker was not asked after the reset"
        fresh = httpx.get(f"{server.scim_url}/Users", timeout=10,
                          headers={"Authorization": f"Bearer {new}"})
        assert fresh.status_code == 200
    finally:
        server.stop()
