"""What the Provisioning page shows: the provisioning jobs that write into a tenant.

A tenant sees exactly the cycles that authenticated with one of its API tokens
(current or revoked), and the log entries those cycles wrote: the engine records
the SHA-256 of the token each cycle used, and the tenant's token digest history
holds the same digests, so no token is stored to make the link. Job names play
no part in it: two jobs may share a name, and one job may have written into two
tenants over its life (a token rotated, a restart onto another target); each
tenant sees its own part only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from scimhub.scim.types import TenantId
from scimhub.store.database import Database
from scimhub.store.provisioning import EngineState
from scimhub.store.tenants import token_digests

#: At most this many log entries are shown or exported at once.
LOG_LIMIT = 500

#: A job is ``running`` while its last cycle has not finished.
JobState = Literal["running", "idle"]
#: One provisioning log entry as the store returns it: plain JSON (the page shows it, the
#: JSON and CSV exports write it as is), its fields those of ``store.provisioning.prov_log``.
LogEntry = dict[str, Any]


@dataclass(frozen=True)
class JobSummary:
    """One provisioning job as its row on the page shows it."""

    name: str
    source: str
    target: str
    schedule: str
    state: JobState
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

    def jobs(self, tenant: TenantId) -> list[JobSummary]:
        summaries = []
        for job in self.state.tenant_jobs(token_digests(self.db, tenant)):
            last = job.last
            result = None
            if last.summary:
                counts = last.summary.get("counts") or {}
                result = (", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                          or "no change") + f"; {last.summary.get('failures', 0)} failures"
            summaries.append(JobSummary(
                name=job.name, source="engine", target=last.target_url or "", schedule="",
                state="running" if last.finished is None else "idle",
                last_cycle=f"{last.kind} · {last.started}", last_result=result))
        return summaries

    def log(self, tenant: TenantId, *, job: str | None = None, status: str | None = None,
            action: str | None = None, text: str | None = None,
            since: str | None = None) -> list[LogEntry]:
        """The tenant's log entries, newest first, filtered as the page's form asks."""
        return self.state.search_log(job_name=job, token_digests=token_digests(self.db, tenant),
                                     status=status, action=action, text=text, since=since,
                                     limit=LOG_LIMIT)
