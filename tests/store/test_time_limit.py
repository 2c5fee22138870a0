"""``Database.time_limit``: a statement past its budget is stopped, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from scimhub.store.database import Database

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
