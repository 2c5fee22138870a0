"""What the Provisioning page shows: the provisioning jobs that write into a tenant.

A job belongs to the tenant whose API token it authenticates with: the engine
records the SHA-256 of the token it used for each cycle, and the tenant's token
rows hold the same digest, so no token is stored to make the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from scimhub.scim.types import TenantId
from scimhub.store.database import Database
from scimhub.store.provisioning import EngineState
from scimhub.store.tables import api_tokens


@dataclass(frozen=True)
class JobSummary:
    """One provisioning job as its row on the page shows it."""

    name: str
    source: str
    target: str
    schedule: str
    state: str
    last_cycle: str | None = None
    last_result: str | None = None


class JobSource(Protocol):
    def jobs(self, tenant: TenantId) -> list[JobSummary]: ...


class NoJobs:
    def jobs(self, tenant: TenantId) -> list[JobSummary]:
        return []


class EngineJobs:
    """The jobs the provisioning engine ran against this database's tenants."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.state = EngineState(db)

    def names(self, tenant: TenantId) -> list[str]:
        return [name for name, _ in self._jobs(tenant)]

    def _jobs(self, tenant: TenantId) -> list[tuple[str, str | None]]:
        with self.db.read() as tx:
            digests = [str(r[0]) for r in tx.all(
                select(api_tokens.c.digest).where(api_tokens.c.tenant_id == tenant))]
        return self.state.jobs_for_tokens(digests)

    def jobs(self, tenant: TenantId) -> list[JobSummary]:
        summaries = []
        for name, target in self._jobs(tenant):
            cycles = self.state.cycles(name, 1)
            last = cycles[0] if cycles else None
            result = None
            if last is not None and last.summary:
                counts = last.summary.get("counts") or {}
                result = (", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                          or "no change") + f"; {last.summary.get('failures', 0)} failures"
            state = "running" if last is not None and last.finished is None else "idle"
            summaries.append(JobSummary(
                name=name, source="engine", target=target or "", schedule="",
                state=state, last_cycle=(f"{last.kind} · {last.started}" if last else None),
                last_result=result))
        return summaries
