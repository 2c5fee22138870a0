"""Connections and transactions for SQLite and PostgreSQL.

Writes take the write lock when they begin (``BEGIN IMMEDIATE`` on SQLite,
row locks on PostgreSQL), so a read-modify-write such as a PATCH can never
interleave with another one and lose an update.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import NullPool

from scimhub.store.sql import Compiler, Tx

DEFAULT_URL = "sqlite:///./scimhub.db"
MISSING_PSYCOPG = (
    "PostgreSQL needs the psycopg driver, which is not installed: "
    "pip install 'scimhub[postgres]' (or pip install 'psycopg[binary]')")


class MissingDriver(RuntimeError):
    """The database URL names a driver that is not installed; the message says what to
    install."""


T = TypeVar("T")

#: SQLite's connection pool: SQLAlchemy's default QueuePool (5, and 10 more on demand).
_SQLITE_POOL = 15


@dataclass(frozen=True)
class Blocking:
    """How calls into a database block the calling thread.

    For a caller that runs an event loop (the server) and must decide where to run
    storage work, without being told which database this is: the backend stays a
    store's concern.
    """

    #: Work bounded to about a millisecond (one indexed lookup, a small write) may run
    #: on the caller's own thread: the hop to a worker thread and back, and the GIL
    #: passed between threads, cost more than the work. True for a database inside the
    #: process (SQLite: no round trip, and WAL readers never wait for a writer); false
    #: when every statement waits on the network.
    cheap_inline: bool
    #: The rest of the work is run by a pool of this many threads of its own: enough that
    #: a few slow reads leave threads for other tenants' requests, fewer than the
    #: connection pool holds so that the health check always finds a connection. None:
    #: no bound of its own (any thread pool will do).
    threads: int | None


#: SQLite: WAL readers run in parallel, writers queue on one lock. Each thread keeps a
#: connection of its own (``_Held``); the pool (``_SQLITE_POOL``) serves a transaction begun
#: inside another, so 8 threads still leave it room for those and the health check.
IN_PROCESS = Blocking(cheap_inline=True, threads=8)
#: PostgreSQL: every statement waits on the network. 16 threads of its own leave 4 of the
#: pool's 20 connections to the health check; a pool of its own rather than Starlette's
#: (anyio's worker threads, capacity limiter and cancel scope cost ~50 µs of CPU per hop).
NETWORKED = Blocking(cheap_inline=False, threads=16)


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
        #: Where a caller with an event loop should run this database's work.
        self.blocking = IN_PROCESS if self.is_sqlite else NETWORKED
        self.engine = self._create_engine()
        self.compiler = Compiler(self.engine.dialect)
        dbapi = self.engine.dialect.loaded_dbapi
        #: The driver's IntegrityError (PEP 249): a unique or foreign key violation.
        self.integrity_error: type[Exception] = dbapi.IntegrityError
        self.operational_error: type[Exception] = dbapi.OperationalError
        #: Whatever the database raised: the driver's Error (PEP 249), or SQLAlchemy's
        #: wrapper of one (a connection the pool could not open). Counted by the metrics.
        self.errors: tuple[type[Exception], ...] = (dbapi.Error, DBAPIError)
        self._write_lock = threading.RLock()
        #: SQLite on a file: each thread keeps a connection of its own (``_Held``).
        self._own: threading.local | None = None
        self._held_all: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._held_lock = threading.Lock()
        if self.is_sqlite and not isinstance(self.engine.pool, NullPool):
            self._own = threading.local()

    def is_timeout(self, exc: Exception) -> bool:
        """A statement stopped by ``time_limit``: SQLite's progress handler interrupted it,
        or PostgreSQL's ``statement_timeout`` cancelled it (SQLSTATE 57014)."""
        if self.is_sqlite:
            return "interrupted" in str(exc)
        return getattr(exc, "sqlstate", None) == "57014"

    @contextmanager
    def time_limit(self, seconds: float | None) -> Iterator[None]:
        """Bound the database time of what this thread runs inside the block.

        So that one request's scanning query cannot run unbounded: on SQLite a
        progress handler (installed on every connection) interrupts any statement
        still running ``seconds`` after the block began; on PostgreSQL
        ``statement_timeout`` is given to the session for each transaction begun here
        (``_statement_timeout``). The
        statement fails with the driver's OperationalError (``is_timeout``). A
        streamed response gets a fresh block per batch, so a slow reader is never
        charged for its own pauses.
        """
        previous = getattr(_budget, "seconds", None), getattr(_budget, "deadline", None)
        _budget.seconds = seconds
        _budget.deadline = None if seconds is None else time.monotonic() + seconds
        try:
            yield
        finally:
            _budget.seconds, _budget.deadline = previous

    def is_transient(self, exc: Exception) -> bool:
        """A deadlock or serialization failure (PostgreSQL), or a busy database (SQLite):
        the transaction was rolled back whole and may simply be run again."""
        if self.is_sqlite:
            return "locked" in str(exc) or "busy" in str(exc)
        return getattr(exc, "sqlstate", None) in ("40P01", "40001")

    def retrying(self, attempt: Callable[[], T], tries: int = 5) -> T:
        """Run a transaction, again after a transient failure, with a growing pause."""
        for n in range(tries):
            try:
                return attempt()
            except self.operational_error as exc:
                if n == tries - 1 or not self.is_transient(exc):
                    raise
                time.sleep(0.01 * 2**n * (1 + random.random()))
        raise AssertionError("unreachable")

    def _create_engine(self) -> Engine:
        if not self.is_sqlite:
            try:
                engine = create_engine(self.url, pool_size=10, max_overflow=10)
            except ModuleNotFoundError as exc:
                if (exc.name or "").split(".")[0] != "psycopg":
                    raise
                raise MissingDriver(MISSING_PSYCOPG) from exc
            event.listen(engine, "connect", _mark_used)
            event.listen(engine, "checkin", _mark_used)
            event.listen(engine, "checkout", _ping_if_idle)
            event.listen(engine, "engine_connect", _no_statement_timeout)
            return engine
        url = make_url(self.url)
        database = url.database
        if database and database != ":memory:" and not url.query.get("uri"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            _create_private(Path(database))
        engine = create_engine(self.url, poolclass=NullPool if not database else None)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)  # for Alembic's SQLAlchemy connections
        return engine

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Statements that only read, each seeing what was committed when it began.

        On PostgreSQL they run in autocommit, with no ``BEGIN``/``COMMIT`` (two round trips
        of a probe's four): under READ COMMITTED, PostgreSQL's default and what scimhub
        runs, each statement of a transaction takes a snapshot of its own anyway, so a read
        transaction gave its statements nothing more. (A read that locks rows belongs in
        ``write``.) On SQLite a ``BEGIN`` gives the reads one snapshot.
        """
        if not self.is_sqlite:
            with self._pg_transaction(reading=True) as tx:
                yield tx
            return
        with self._transaction("BEGIN") as tx:
            yield tx

    @contextmanager
    def single(self) -> Iterator[Tx]:
        """For exactly one statement that reads (the token lookup of every request): it runs
        on its own, atomic as any statement is, with no ``BEGIN``/``COMMIT`` around it.

        Those cost two executes of their own on SQLite, for a transaction that one
        statement does not need; on PostgreSQL this is ``read``. A second statement would
        run in a snapshot of its own.
        """
        held = self._held()
        if held is not None and not held.busy and held.connection is not None:
            held.busy = True
            try:
                yield Tx(held.connection.cursor(), self.compiler)
            finally:
                held.busy = False
            return
        if not self.is_sqlite:
            with self._pg_transaction(reading=True) as tx:
                yield tx
            return
        conn = self.engine.raw_connection()
        try:
            yield Tx(conn.cursor(), self.compiler)
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """One transaction that holds the write lock from its first statement.

        On SQLite, writers of this process also queue on a lock first: SQLite
        admits one writer, and a thread blocked on a Python lock wakes the
        moment it is free, where SQLite's busy handler polls with sleeps of up
        to 100 ms.
        """
        if not self.is_sqlite:
            with self._pg_transaction(reading=False) as tx:
                yield tx
            return
        with self._write_lock, self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Tx]:
        """SQLite: on this thread's own connection, or a pooled one when that is in use."""
        held = self._held()
        if held is not None and not held.busy:
            with self._held_transaction(held, begin) as tx:
                yield tx
            return
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(begin)
            try:
                yield Tx(cursor, self.compiler)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def _pg_transaction(self, reading: bool) -> Iterator[Tx]:
        """PostgreSQL: a pooled connection; ``reading``: in autocommit (``read``), else one
        transaction, which psycopg begins at the first statement."""
        conn = self.engine.raw_connection()
        driver: Any = conn.driver_connection
        try:
            if reading:
                driver.autocommit = True
            cursor = conn.cursor()
            _statement_timeout(conn, cursor)
            try:
                yield Tx(cursor, self.compiler)
            except BaseException:
                self._after_failure(conn)
                raise
            if not reading:
                conn.commit()
        finally:
            if reading and not driver.closed:
                driver.autocommit = False
            conn.close()

    @contextmanager
    def _held_transaction(self, held: _Held, begin: str) -> Iterator[Tx]:
        """A transaction on the SQLite connection this thread keeps (``_Held``).

        Whatever ends it, the connection is left outside a transaction: it is used again by
        the next request of this thread, where a transaction left open would make every
        ``BEGIN`` fail."""
        conn = held.connection
        assert conn is not None
        held.busy = True
        try:
            cursor = conn.cursor()
            cursor.execute(begin)
            try:
                yield Tx(cursor, self.compiler)
                cursor.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.rollback()
        finally:
            held.busy = False

    def _held(self) -> _Held | None:
        """This thread's own SQLite connection (made at its first use), or None: PostgreSQL,
        or SQLite in memory (a pooled connection per transaction, as ever)."""
        own = self._own
        if own is None:
            return None
        held: _Held | None = getattr(own, "held", None)
        if held is None or held.connection is None:
            cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
            params: dict[str, Any] = {**cparams, "check_same_thread": False}
            connect: Any = sqlite3.connect  # the dialect's arguments, typed loosely
            conn: sqlite3.Connection = connect(*cargs, **params)
            _sqlite_connect(conn, None)
            held = own.held = _Held(conn)
            with self._held_lock:
                self._held_all.add(held)
        return held

    def _after_failure(self, conn: Any) -> None:
        """PostgreSQL: roll back a failed transaction; when the connection itself broke (the
        server restarted, the session was terminated), replace every pooled connection, which
        are then likely broken too, instead of handing them to the next requests one by one
        (connections are pinged only after an idle spell: ``_ping_if_idle``)."""
        driver: Any = conn.driver_connection
        conn.info.pop(_TIMEOUT_KEY, None)  # a rollback undoes a SET made in the transaction
        if driver.closed or getattr(driver, "broken", False):
            conn.invalidate()
            self.engine.dispose()
            return
        conn.rollback()

    def ping(self) -> None:
        """One round trip that proves the database answers (the health check)."""
        with self.read() as tx:
            tx.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        with self._held_lock:
            held_all, self._held_all = list(self._held_all), weakref.WeakSet()
        for held in held_all:
            if not held.busy and held.connection is not None:
                held.connection.close()
                held.connection = None


def _create_private(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (0600), as the key file is: it
    holds token digests and password hashes. SQLite gives the -wal and -shm files the mode of
    the database file. An existing file keeps the mode its owner gave it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)  # an empty file is an empty SQLite database


class _Held:
    """The SQLite connection a thread keeps for its transactions, instead of a pool checkout
    and check-in for each (two per request: a fifth of the storage time of a probe). The
    event loop's thread runs the cheap work of every request on it.

    ``busy`` while a transaction of this thread uses it: a transaction begun inside another
    (a read while writing) takes a pooled connection, as before. Only the thread's
    thread-local refers to it, so it is closed (by sqlite3's finaliser) when its thread
    ends, and by ``Database.dispose`` otherwise."""

    __slots__ = ("__weakref__", "busy", "connection")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection: sqlite3.Connection | None = connection
        self.busy = False


#: PostgreSQL: a connection idle longer than this is pinged before it is used (a round trip).
#: One used more recently is trusted: a ping per checkout (``pool_pre_ping``) was a round trip
#: per transaction, two per request. A connection that broke anyway fails its one request and
#: renews the pool (``Database._after_failure``).
PING_AFTER_IDLE_SECONDS = 1.0


def _mark_used(_dbapi_conn: Any, record: Any) -> None:
    record.info["used"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    if time.monotonic() - record.info.get("used", 0.0) <= PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_conn.cursor()
        before = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
            if not dbapi_conn.closed:
                dbapi_conn.autocommit = before
    except Exception as exc:
        raise DisconnectionError(str(exc)) from exc
    record.info["used"] = time.monotonic()


#: Where a pooled PostgreSQL connection notes the ``statement_timeout`` its session has.
_TIMEOUT_KEY = "scimhub_statement_timeout"


def _statement_timeout(conn: Any, cursor: Any) -> None:
    """Give the session the statement timeout of this thread's ``time_limit`` (none
    outside one), when it has another: a round trip only when the budget changes, not one
    per transaction (``set_config(..., true)`` in every transaction was one of a probe's
    four round trips). The value is noted on the pooled connection; a rollback forgets it
    (``Database._after_failure``), since it undoes a SET made in the transaction."""
    seconds = getattr(_budget, "seconds", None)
    wanted = "0" if seconds is None else f"{int(seconds * 1000)}ms"
    if conn.info.get(_TIMEOUT_KEY) != wanted:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", (wanted,))
        conn.info[_TIMEOUT_KEY] = wanted


def _no_statement_timeout(connection: Any) -> None:
    """SQLAlchemy's own connections (migrations, maintenance) run without the timeout a
    request's transaction left on the pooled session."""
    info = connection.connection.info
    if info.get(_TIMEOUT_KEY, "0") != "0":
        connection.exec_driver_sql("SELECT set_config('statement_timeout', '0', false)")
        connection.commit()
        info[_TIMEOUT_KEY] = "0"


#: The statement time budget of the current thread (``Database.time_limit``).
_budget = threading.local()


def _over_budget() -> int:
    """SQLite's progress handler: non-zero interrupts the statement, once this thread is
    past the deadline ``Database.time_limit`` set (never outside such a block)."""
    deadline = getattr(_budget, "deadline", None)
    return 1 if deadline is not None and time.monotonic() > deadline else 0


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
    dbapi_conn.set_progress_handler(_over_budget, 1_000_000)


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value
