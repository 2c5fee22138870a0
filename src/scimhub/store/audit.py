"""The audit log: one row per SCIM write a tenant sent, and the console's view of it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select

from scimhub.scim.types import TenantId
from scimhub.store.console_tables import audit_log as a
from scimhub.store.database import Database
from scimhub.store.sql import Tx
from scimhub.store.tables import groups, users

_INSERT = insert(a).values(
    tenant_id=bindparam("tenant_id"), at=bindparam("at"), method=bindparam("method"),
    path=bindparam("path"), resource_type=bindparam("resource_type"),
    resource_id=bindparam("resource_id"), client=bindparam("client"),
    status=bindparam("status"), duration_ms=bindparam("duration_ms"),
    detail=bindparam("detail"),
)
_COLUMNS = (a.c.at, a.c.method, a.c.path, a.c.resource_type, a.c.resource_id, a.c.client,
            a.c.status, a.c.duration_ms, a.c.detail)


@dataclass(frozen=True)
class AuditEntry:
    at: str
    method: str
    path: str
    resource_type: str | None
    resource_id: str | None
    client: str | None
    status: int
    duration_ms: int
    detail: str | None = None


@dataclass(frozen=True)
class AuditQuery:
    """Which entries to show; times are canonical UTC strings (``store.clock``)."""

    resource_type: str | None = None
    resource_id: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    has_more: bool
    #: The current userName or displayName of each resource on the page that still exists.
    names: dict[str, str]


class AuditStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, entries: list[tuple[TenantId, AuditEntry]]) -> None:
        """One transaction for the lot: one prepared INSERT per entry."""
        with self.db.write() as tx:
            tx.execute_many(_INSERT, [{"tenant_id": tenant, **entry.__dict__}
                                      for tenant, entry in entries])

    def page(self, tenant: TenantId, query: AuditQuery, offset: int, limit: int) -> AuditPage:
        """Newest first; ``has_more`` says whether an older page exists."""
        where = [a.c.tenant_id == tenant]
        if query.resource_type:
            where.append(a.c.resource_type == query.resource_type)
        if query.resource_id:
            where.append(a.c.resource_id == query.resource_id)
        if query.since:
            where.append(a.c.at >= query.since)
        if query.until:
            where.append(a.c.at < query.until)
        stmt = (select(*_COLUMNS).where(*where).order_by(a.c.at.desc(), a.c.id.desc())
                .offset(offset).limit(limit + 1))
        with self.db.read() as tx:
            rows = tx.all(stmt)
            entries = [AuditEntry(str(r[0]), str(r[1]), str(r[2]), r[3], r[4], r[5], int(r[6]),
                                  int(r[7]), r[8]) for r in rows[:limit]]
            names = _names(tx, tenant, entries)
        return AuditPage(entries, len(rows) > limit, names)

    def purge(self, older_than: str, batch: int = 1000, pause: float = 0.01) -> int:
        """Delete entries before ``older_than`` (a canonical UTC string), in batches so that
        no transaction holds the table (and the SCIM writes recorded into it) for long, with
        a ``pause`` between them in which waiting writers take the lock (SQLite's one write
        lock is not fair: without it the next batch takes it again at once); returns how
        many went. Walks ``ix_audit_log_at``."""
        gone = 0
        while True:
            if gone:
                time.sleep(pause)
            with self.db.write() as tx:
                ids = [r[0] for r in tx.all(select(a.c.id).where(a.c.at < older_than)
                                            .limit(batch))]
                if ids:
                    tx.execute(delete(a).where(a.c.id.in_(ids)))
            gone += len(ids)
            if len(ids) < batch:
                return gone


def _names(tx: Tx, tenant: TenantId, entries: list[AuditEntry]) -> dict[str, str]:
    names: dict[str, str] = {}
    for rtype, table, column in (("User", users, users.c.user_name),
                                 ("Group", groups, groups.c.display_name)):
        ids = list({e.resource_id for e in entries
                    if e.resource_type == rtype and e.resource_id})
        if ids:
            names.update((str(r[0]), str(r[1])) for r in tx.all(
                select(table.c.id, column).where(table.c.tenant_id == tenant,
                                                 table.c.id.in_(ids))))
    return names
