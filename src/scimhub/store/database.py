"""Engines, connections and transactions for SQLite and PostgreSQL.

Writes take the write lock when they begin (``BEGIN IMMEDIATE`` on SQLite,
row locks on PostgreSQL), so a read-modify-write such as a PATCH can never
interleave with another one and lose an update.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

DEFAULT_URL = "sqlite:///./scimhub.db"


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("SCIMHUB_DATABASE_URL") or DEFAULT_URL


def _normalise(url: str) -> str:
    """``postgresql://`` selects psycopg 3, the driver we ship with."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    def __init__(self, url: str) -> None:
        self.url = _normalise(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        self.engine = self._create_engine()

    def _create_engine(self) -> Engine:
        if not self.is_sqlite:
            return create_engine(self.url, pool_size=10, max_overflow=10, pool_pre_ping=True)
        database = make_url(self.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, poolclass=NullPool if not database else None)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that holds the write lock from its first statement."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(scimhub_write=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module, so that we
    # decide when BEGIN happens and of which kind.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=10000",
        "case_sensitive_like=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    dbapi_conn.create_function("scim_fold", 1, _fold, deterministic=True)


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("scimhub_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
