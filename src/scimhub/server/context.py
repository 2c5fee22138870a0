"""What every request handler shares: storage, limits, and how to call storage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scimhub.scim.errors import Unauthorized
from scimhub.scim.limits import Limits
from scimhub.scim.types import TenantId
from scimhub.store.database import Database
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore

T = TypeVar("T")


@dataclass
class AppContext:
    db: Database
    resources: ResourceStore
    tenants: TenantStore
    limits: Limits

    async def run(self, fn: Callable[[], T]) -> T:
        """Run a storage call: inline on SQLite, in a thread on PostgreSQL.

        SQLite answers in microseconds and admits one writer at a time, so a
        thread hop would only add latency; PostgreSQL calls wait on the
        network and must not block the event loop.
        """
        if self.db.is_sqlite:
            return fn()
        return await run_in_threadpool(fn)

    async def tenant(self, request: Request) -> TenantId:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("A bearer token is required")
        tenant = await self.run(lambda: self.tenants.authenticate(token.strip()))
        if tenant is None:
            raise Unauthorized("The bearer token is not valid")
        request.state.tenant = tenant  # for middleware that runs after the handler (audit)
        return tenant
