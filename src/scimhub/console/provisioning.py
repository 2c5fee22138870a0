"""What the Provisioning page shows: the jobs a data source reports for a tenant.

The provisioning engine does not exist yet, so the only source is ``NoJobs``.
When the engine arrives it implements ``JobSource`` and is passed to
``console_routes``; the page and its template already show a list of jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from scimhub.scim.types import TenantId


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
