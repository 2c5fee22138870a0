"""How transactions get their connections: kept per thread on SQLite, pooled on PostgreSQL.

Each SQLite thread keeps one connection for its transactions (no pool checkout per
transaction), so whatever ends a transaction must leave that connection outside one; a
single statement (``Database.single``) runs with no ``BEGIN``/``COMMIT``; PostgreSQL pings a
pooled connection only after an idle spell, and renews the pool when one broke.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from scimhub.store import database as database_module
from scimhub.store.database import Database
from tests.support.postgres import ADMIN_URL, temporary_database


def _count(db: Database) -> int:
    with db.read() as tx:
        return int(tx.scalar(text("SELECT count(*) FROM t")))


@pytest.fixture()
def table_db(db: Database) -> Iterator[Database]:
    """A table of its own, dropped after (the PostgreSQL database is shared by the session,
    and the migrations test compares its tables with the declared ones)."""
    with db.write() as tx:
        tx.execute(text("DROP TABLE IF EXISTS t"))
        tx.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    yield db
    with db.write() as tx:
        tx.execute(text("DROP TABLE t"))


def test_a_failed_transaction_leaves_the_connection_ready_for_the_next(
        table_db: Database) -> None:
    db = table_db
    with pytest.raises(RuntimeError), db.write() as tx:
        tx.execute(text("INSERT INTO t (id) VALUES (1)"))
        raise RuntimeError("the request failed half-way")
    with pytest.raises(db.integrity_error), db.write() as tx:
        tx.execute(text("INSERT INTO t (id) VALUES (2)"))
        tx.execute(text("INSERT INTO t (id) VALUES (2)"))
    assert _count(db) == 0  # neither half-applied
    with db.write() as tx:
        tx.execute(text("INSERT INTO t (id) VALUES (3)"))
    assert _count(db) == 1


def test_a_transaction_begun_inside_another_does_not_share_its_connection(
        table_db: Database) -> None:
    """A read while writing (same thread) sees the committed state, not the write's."""
    db = table_db
    with db.write() as tx:
        tx.execute(text("INSERT INTO t (id) VALUES (1)"))
        assert _count(db) == 0
        with db.single() as one:
            assert one.scalar(text("SELECT count(*) FROM t")) == 0
    assert _count(db) == 1


def test_a_single_statement_runs_outside_a_transaction(table_db: Database) -> None:
    db = table_db
    with db.single() as tx:
        tx.execute(text("INSERT INTO t (id) VALUES (1)"))  # committed by itself
    with db.write() as tx:  # the same connection (SQLite) or a pooled one is usable at once
        tx.execute(text("INSERT INTO t (id) VALUES (2)"))
    assert _count(db) == 2
    with db.single() as tx:
        tx.execute(text("SELECT count(*) FROM t")).fetchall()
        if db.is_sqlite:
            assert not tx.cursor.connection.in_transaction  # no BEGIN
        else:
            assert tx.cursor.connection.autocommit  # no BEGIN, no COMMIT
    if not db.is_sqlite:  # the pooled connection was given back transactional
        with db.write() as tx:
            assert not tx.cursor.connection.autocommit


def test_postgresql_reads_run_in_autocommit_under_the_time_limit(
        postgres_database: Database) -> None:
    """No BEGIN/COMMIT around reads; the statement timeout is the session's, set when the
    budget changes, and SQLAlchemy's own connections (migrations) run without it."""
    db = postgres_database
    with db.time_limit(7), db.read() as tx:
        assert tx.cursor.connection.autocommit
        assert tx.scalar(text("SELECT current_setting('statement_timeout')")) == "7s"
    with db.read() as tx:  # outside a time limit: none
        assert tx.scalar(text("SELECT current_setting('statement_timeout')")) == "0"
    with db.time_limit(7), db.write() as tx:
        assert not tx.cursor.connection.autocommit
        assert tx.scalar(text("SELECT current_setting('statement_timeout')")) == "7s"
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"


def test_each_sqlite_thread_keeps_its_connection_and_dispose_closes_them(
        tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/kept.db")
    connections = []

    def use() -> None:
        for _ in range(3):
            with db.read() as tx:
                connections.append(tx.cursor.connection)

    use()
    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    assert len({id(c) for c in connections[:3]}) == 1  # one per thread, kept
    assert len({id(c) for c in connections}) == 2
    db.dispose()
    with pytest.raises(Exception, match="closed"):
        connections[0].execute("SELECT 1")
    with db.read() as tx:  # a new one after dispose
        assert tx.scalar(text("SELECT 1")) == 1
    db.dispose()


def test_a_broken_postgresql_connection_fails_one_request_and_renews_the_pool() -> None:
    with temporary_database("scimhub_connections") as url:
        db = Database(url)
        try:
            with db.read() as a, db.read() as b, db.read() as c:  # three pooled connections
                for tx in (a, b, c):
                    tx.execute(text("SELECT 1"))
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()",
                              (url.rsplit("/", 1)[1],))
            with pytest.raises(db.operational_error), db.read() as tx:
                tx.execute(text("SELECT 1"))  # used a moment ago: not pinged, fails
            for _ in range(3):  # the pool was renewed: new connections, not the other two
                with db.read() as tx:
                    assert tx.scalar(text("SELECT 1")) == 1
        finally:
            db.dispose()


def test_an_idle_postgresql_connection_is_pinged_and_replaced_when_broken(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    with temporary_database("scimhub_connections") as url:
        db = Database(url)
        try:
            with db.read() as tx:
                tx.execute(text("SELECT 1"))
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()",
                              (url.rsplit("/", 1)[1],))
            with db.single() as tx:  # pinged, found broken, replaced: no error
                assert tx.scalar(text("SELECT 1")) == 1
        finally:
            db.dispose()
