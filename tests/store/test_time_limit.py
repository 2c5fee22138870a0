"""``Database.time_limit``: a statement past its budget is stopped, on SQLite and PostgreSQL,
and the SCIM request that ran it is answered ``400 tooMany``."""

from __future__ import annotations

import time

import anyio
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from scimhub.scim.errors import TooMany
from scimhub.scim.limits import Limits
from scimhub.security import TokenVault
from scimhub.server.context import AppContext
from scimhub.store.database import Database
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore

#: Counts to fifty million: many seconds on either database, unless interrupted.
LONG = text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000)"
            " SELECT count(*) FROM c")


def test_a_statement_past_the_budget_is_interrupted_and_recognised(db: Database) -> None:
    started = time.monotonic()
    with pytest.raises(db.operational_error) as stopped, db.time_limit(0.2), db.read() as tx:
        tx.scalar(LONG)
    assert db.is_timeout(stopped.value)
    assert time.monotonic() - started < 5


def test_outside_a_time_limit_the_same_connections_run_unbounded(db: Database) -> None:
    with pytest.raises(db.operational_error), db.time_limit(0.1), db.read() as tx:
        tx.scalar(LONG)
    short = text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)"
                 " SELECT count(*) FROM c")
    with db.read() as tx:
        assert tx.scalar(short) == 300000
    with db.time_limit(30), db.read() as tx:
        assert tx.scalar(short) == 300000


def test_a_request_past_its_budget_is_answered_too_many(db: Database) -> None:
    """What a SCIM request gets when its query runs past ``Limits.max_query_seconds``."""
    ctx = AppContext(db, ResourceStore(db), TenantStore(db, TokenVault(Fernet.generate_key())),
                     Limits(max_query_seconds=0.2))

    def scan() -> int:
        with db.read() as tx:
            return int(tx.scalar(LONG))

    async def call() -> None:
        try:
            with pytest.raises(TooMany) as refused:
                await ctx.run(scan)
        finally:
            ctx.close()
        assert refused.value.status == 400 and refused.value.scim_type == "tooMany"

    anyio.run(call)
