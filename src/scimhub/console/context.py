"""What every console page shares: the server's context plus the console's own stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from scimhub.console.lockout import Lockout
from scimhub.console.pages import Pages
from scimhub.console.provisioning import EngineJobs, JobSource
from scimhub.server import AppContext
from scimhub.store.audit import AuditStore
from scimhub.store.events import ConsoleEvents
from scimhub.store.login_failures import LoginFailureStore
from scimhub.store.memberships import Memberships
from scimhub.store.sessions import SessionStore

T = TypeVar("T")


@dataclass
class Console:
    ctx: AppContext
    pages: Pages
    sessions: SessionStore
    lockout: Lockout
    audit: AuditStore
    memberships: Memberships
    jobs: JobSource
    events: ConsoleEvents

    @classmethod
    def create(cls, ctx: AppContext, jobs: JobSource | None = None) -> Console:
        db = ctx.db
        return cls(ctx, Pages(), SessionStore(db), Lockout(LoginFailureStore(db)),
                   AuditStore(db), Memberships(db), jobs or EngineJobs(db), ConsoleEvents(db))

    async def run(self, fn: Callable[[], T]) -> T:
        return await self.ctx.run(fn)

    async def slow(self, fn: Callable[[], T]) -> T:
        """Always in a thread: for Argon2, which takes tens of milliseconds of CPU."""
        return await run_in_threadpool(fn)
