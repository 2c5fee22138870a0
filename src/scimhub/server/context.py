"""What every request handler shares: storage, limits, and how to call storage."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, field
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scimhub.scim.errors import TooMany, Unauthorized
from scimhub.scim.limits import Limits
from scimhub.scim.types import TenantId
from scimhub.store.database import Database
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore

T = TypeVar("T")


#: Threads that run SQLite work: enough that a few slow reads (each bounded by
#: ``Limits.max_query_seconds``) leave threads for other tenants' requests (WAL readers
#: run in parallel; writers queue on one lock); fewer than the connection pool's 15, so
#: that the health check always finds a connection.
SQLITE_THREADS = 8


@dataclass
class AppContext:
    db: Database
    resources: ResourceStore
    tenants: TenantStore
    limits: Limits
    _executor: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _health_executor: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    async def run(self, fn: Callable[[], T], *, cheap: bool = False) -> T:
        """Run a request's work (storage calls, and CPU-heavy steps such as Argon2 or a
        PATCH of a large resource) in a worker thread, never on the event loop.

        On the loop, one expensive request would stall every tenant's requests and the
        health check until it finished. SQLite releases the GIL while a statement runs,
        Argon2 while it hashes, and a thread holding it for Python work must hand it
        over every few milliseconds: the loop keeps answering. The work runs under
        ``Limits.max_query_seconds``; a statement that runs longer is interrupted and
        the request answered ``400 tooMany``.

        ``cheap`` work (one indexed lookup or a small write, bounded by the limits to about
        a millisecond: what almost every request Entra sends is) runs inline on SQLite:
        the hop to a thread and back, and the GIL passed between threads, cost more than
        the work itself and halved the throughput of the Entra workload.
        """
        def bounded() -> T:
            with self.db.time_limit(self.limits.max_query_seconds):
                return fn()

        try:
            if self.db.is_sqlite and cheap:
                return bounded()
            if self.db.is_sqlite:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(SQLITE_THREADS, "scimhub-sqlite")
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._executor, copy_context().run, bounded)
            return await run_in_threadpool(bounded)
        except self.db.operational_error as exc:
            if self.db.is_timeout(exc):
                raise TooMany(
                    f"The request needed more than {self.limits.max_query_seconds:g} s of "
                    "database work; narrow the filter or ask for fewer results") from None
            raise

    async def health(self, fn: Callable[[], T]) -> T:
        """Run the health check's ping on a thread of its own, so that it answers while
        every request thread is busy (and tells a stalled server from a busy one)."""
        if self._health_executor is None:
            self._health_executor = ThreadPoolExecutor(1, "scimhub-health")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._health_executor, fn)

    def close(self) -> None:
        """Stop the threads (at shutdown; queued work is dropped, running work finishes)."""
        for executor in (self._executor, self._health_executor):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._health_executor = None

    async def tenant(self, request: Request) -> TenantId:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("A bearer token is required")

        def lookup() -> TenantId | None:
            return self.tenants.authenticate(token.strip())

        # One indexed read, which SQLite's WAL never makes wait for a writer: on the loop it
        # costs less than the hop to a thread would. PostgreSQL's waits on the network.
        tenant = lookup() if self.db.is_sqlite else await self.run(lookup)
        if tenant is None:
            raise Unauthorized("The bearer token is not valid")
        request.state.tenant = tenant  # for middleware that runs after the handler (audit)
        return tenant
