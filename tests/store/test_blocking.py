"""``Database.blocking``: the store tells the server where its work should run, so that the
server never asks which database it is (tests/test_layering.py), on SQLite and PostgreSQL.

SQLite is in the process: cheap work runs on the event loop (a thread hop cost more than
the work and halved the Entra workload's throughput), the rest on a bounded pool of the
store's own threads (fewer than its 15 connections, so the health check finds one).
PostgreSQL waits on the network: everything leaves the loop.
"""

from __future__ import annotations

import threading
import time

import anyio
from cryptography.fernet import Fernet

from scimhub.scim.limits import Limits
from scimhub.security import TokenVault
from scimhub.server.context import AppContext
from scimhub.store.database import IN_PROCESS, NETWORKED, Database
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore


def _context(db: Database) -> AppContext:
    return AppContext(db, ResourceStore(db), TenantStore(db, TokenVault(Fernet.generate_key())),
                      Limits())


def test_each_backend_describes_how_it_blocks(db: Database) -> None:
    sqlite = db.url.startswith("sqlite")
    assert db.blocking == (IN_PROCESS if sqlite else NETWORKED)
    assert IN_PROCESS.threads is not None and IN_PROCESS.threads < 15
    db.ping()


def test_the_server_runs_work_where_the_store_says(db: Database) -> None:
    ctx = _context(db)
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work() -> None:
        db.ping()
        time.sleep(0.05)
        with lock:
            seen.append((threading.current_thread().name, threading.get_ident()))

    async def main() -> tuple[int, int]:
        loop_thread = threading.get_ident()
        cheap = await ctx.run(threading.get_ident, cheap=True)
        async with anyio.create_task_group() as tg:
            for _ in range(24):
                tg.start_soon(ctx.run, work)
        return loop_thread, cheap

    try:
        loop_thread, cheap = anyio.run(main)
    finally:
        ctx.close()
    assert (cheap == loop_thread) is db.blocking.cheap_inline
    assert len(seen) == 24 and all(ident != loop_thread for _, ident in seen)
    threads = {ident for _, ident in seen}
    if db.blocking.threads is not None:
        assert len(threads) <= db.blocking.threads
        assert all(name.startswith("scimhub-store") for name, _ in seen)
    else:
        assert not any(name.startswith("scimhub-store") for name, _ in seen)
