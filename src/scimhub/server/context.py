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
from scimhub.scim.extensions import TenantSchemas
from scimhub.scim.limits import Limits
from scimhub.scim.types import TenantId
from scimhub.server.ratelimit import TenantRateLimits
from scimhub.store.database import Database
from scimhub.store.resources import ResourceStore
from scimhub.store.schemas import SchemaStore
from scimhub.store.tenants import Identity, TenantStore

T = TypeVar("T")


@dataclass
class AppContext:
    db: Database
    resources: ResourceStore
    tenants: TenantStore
    limits: Limits
    #: Each tenant's request rate (server/ratelimit.py); none unless configured.
    rate_limits: TenantRateLimits = field(default_factory=TenantRateLimits)
    _executor: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _health_executor: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _schemas: SchemaStore | None = field(default=None, init=False, repr=False)

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
        a millisecond: what almost every request Entra sends is) runs inline when the
        database says so (``Database.blocking``; SQLite does): the hop to a thread and
        back, and the GIL passed between threads, cost more than the work itself and
        halved the throughput of the Entra workload. The rest runs on the database's own
        pool of threads when it asks for one, else on Starlette's.
        """
        def bounded() -> T:
            with self.db.time_limit(self.limits.max_query_seconds):
                return fn()

        try:
            blocking = self.db.blocking
            if blocking.cheap_inline and cheap:
                return bounded()
            if blocking.threads is not None:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(blocking.threads, "scimhub-store")
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
        """The tenant whose token the request carries, its request counted against the
        tenant's rate limit (``RateLimited``, 429, past it).

        The limit is checked here, where every SCIM request is identified, and only once
        the token is: an unauthenticated request costs one indexed lookup already and is
        not any tenant's to count. The tenant's own setting comes with the token, so a
        ``scimhub tenant limit`` holds from the next request in every process."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("A bearer token is required")

        def lookup() -> Identity | None:
            return self.tenants.identify(token.strip())

        # One indexed read: on the loop, where the database allows it (SQLite's WAL never
        # makes it wait for a writer), it costs less than the hop to a thread would.
        found = lookup() if self.db.blocking.cheap_inline else await self.run(lookup)
        if found is None:
            raise Unauthorized("The bearer token is not valid")
        tenant, request.state.schemas_version, rate_limit = found
        request.state.tenant = tenant  # for middleware that runs after the handler (audit)
        await self.rate_limits.check(tenant, rate_limit, header.encode("latin-1"))
        return tenant

    async def tenant_schemas(self, request: Request, tenant: TenantId) -> TenantSchemas:
        """The tenant's resource types, with its schema extensions (store/schemas.py).

        A tenant that never registered one (version 0) gets the built-in types at no
        cost; others a cached build, rebuilt only when the version read with the token
        moved."""
        if self._schemas is None:
            self._schemas = SchemaStore(self.db)
        store = self._schemas
        version = int(getattr(request.state, "schemas_version", 0))
        cached = store.cached(tenant, version)
        if cached is not None:
            return cached
        return await self.run(lambda: store.tenant_schemas(tenant, version), cheap=True)
