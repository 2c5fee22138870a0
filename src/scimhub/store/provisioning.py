"""The engine's memory and its provisioning log, in the scimhub database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from scimhub.scim.resource import format_datetime
from scimhub.store.clock import now
from scimhub.store.database import Database
from scimhub.store.provisioning_tables import (
    prov_cycles,
    prov_jobs,
    prov_log,
    prov_members,
    prov_objects,
)
from scimhub.store.sql import dump_json, load_json


@dataclass
class Known:
    """What the engine last did with one source object."""

    kind: str
    source_id: str
    target_id: str | None
    source_hash: str | None
    sent: dict[str, Any] = field(default_factory=dict)
    in_scope: bool = False
    #: Escrow: failed attempts in a row, and when the next one is due (ENTRA.md §2.7).
    attempts: int = 0
    retry_after: str | None = None


@dataclass(frozen=True)
class LogEntry:
    kind: str
    source_id: str | None
    target_id: str | None
    identity: str | None
    action: str
    status: str
    error_code: str | None = None
    detail: str | None = None
    modified: list[dict[str, Any]] | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class JobState:
    state: str = "enabled"
    quarantine_reason: str | None = None
    quarantined_since: str | None = None
    allow_deletes: bool = False


@dataclass(frozen=True)
class CycleRecord:
    id: str
    kind: str
    started: str
    finished: str | None
    fingerprint: str
    summary: dict[str, Any] | None


def _upsert_objects(is_sqlite: bool) -> Any:
    dialect_insert = sqlite.insert if is_sqlite else postgresql.insert
    stmt = dialect_insert(prov_objects).values(
        job=bindparam("job"), kind=bindparam("kind"), source_id=bindparam("source_id"),
        target_id=bindparam("target_id"), source_hash=bindparam("source_hash"),
        sent=bindparam("sent"), in_scope=bindparam("in_scope"), updated=bindparam("updated"),
        attempts=bindparam("attempts"), retry_after=bindparam("retry_after"))
    return stmt.on_conflict_do_update(
        index_elements=["job", "kind", "source_id"],
        set_={c: stmt.excluded[c] for c in ("target_id", "source_hash", "sent", "in_scope",
                                            "updated", "attempts", "retry_after")})


_INSERT_LOG = insert(prov_log).values(**{c.name: bindparam(c.name) for c in prov_log.columns
                                          if c.name != "id"})
_INSERT_MEMBER = insert(prov_members).values(job=bindparam("job"), group_id=bindparam("g"),
                                             member_id=bindparam("m"))
_DELETE_MEMBER = delete(prov_members).where(
    prov_members.c.job == bindparam("job"), prov_members.c.group_id == bindparam("g"),
    prov_members.c.member_id == bindparam("m"))


class EngineState:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._upsert = _upsert_objects(db.is_sqlite)

    # -- cycles -------------------------------------------------------------

    def last_cycle(self, job: str) -> CycleRecord | None:
        with self.db.read() as tx:
            row = tx.first(select(prov_cycles).where(prov_cycles.c.job == job,
                                                     prov_cycles.c.finished.is_not(None))
                           .order_by(prov_cycles.c.started.desc()).limit(1))
        return _cycle(row) if row else None

    def cycles(self, job: str, limit: int = 20) -> list[CycleRecord]:
        with self.db.read() as tx:
            rows = tx.all(select(prov_cycles).where(prov_cycles.c.job == job)
                          .order_by(prov_cycles.c.started.desc()).limit(limit))
        return [_cycle(r) for r in rows]

    def start_cycle(self, job: str, kind: str, fingerprint: str, target_url: str | None = None,
                    token_digest: str | None = None) -> str:
        cycle_id = str(uuid.uuid4())
        with self.db.write() as tx:
            tx.execute(insert(prov_cycles).values(
                id=cycle_id, job=job, kind=kind, started=now(), fingerprint=fingerprint,
                target_url=target_url, token_digest=token_digest))
        return cycle_id

    def jobs_for_tokens(self, digests: Sequence[str]) -> list[tuple[str, str | None]]:
        """Jobs (and their target) whose cycles authenticated with one of these tokens."""
        if not digests:
            return []
        with self.db.read() as tx:
            rows = tx.all(select(prov_cycles.c.job, func.max(prov_cycles.c.target_url))
                          .where(prov_cycles.c.token_digest.in_(list(digests)))
                          .group_by(prov_cycles.c.job).order_by(prov_cycles.c.job))
        return [(str(r[0]), r[1]) for r in rows]

    def finish_cycle(self, cycle_id: str, summary: dict[str, Any]) -> None:
        with self.db.write() as tx:
            tx.execute(update(prov_cycles).where(prov_cycles.c.id == cycle_id)
                       .values(finished=now(), summary=dump_json(summary)))

    def forget(self, job: str) -> None:
        """Restart: the next cycle is initial and re-matches every object."""
        with self.db.write() as tx:
            for table in (prov_objects, prov_members, prov_cycles):
                tx.execute(delete(table).where(table.c.job == job))

    # -- job state ----------------------------------------------------------

    def job_state(self, job: str) -> JobState:
        with self.db.read() as tx:
            row = tx.first(select(prov_jobs.c.state, prov_jobs.c.quarantine_reason,
                                  prov_jobs.c.quarantined_since, prov_jobs.c.allow_deletes)
                           .where(prov_jobs.c.name == job))
        return JobState(str(row[0]), row[1], row[2], bool(row[3])) if row else JobState()

    def job_names(self) -> list[str]:
        with self.db.read() as tx:
            names = {str(r[0]) for r in tx.all(select(prov_cycles.c.job).distinct())}
            names |= {str(r[0]) for r in tx.all(select(prov_jobs.c.name))}
        return sorted(names)

    def update_job(self, job: str, **values: Any) -> None:
        """Change a job's state row, creating it with defaults first if needed."""
        current = self.job_state(job)
        merged = {"state": current.state, "quarantine_reason": current.quarantine_reason,
                  "quarantined_since": current.quarantined_since,
                  "allow_deletes": current.allow_deletes, **values, "updated": now()}
        with self.db.write() as tx:
            if tx.rowcount(update(prov_jobs).where(prov_jobs.c.name == job)
                           .values(**merged)) == 0:
                tx.execute(insert(prov_jobs).values(name=job, **merged))

    def acquire_lease(self, job: str, owner: str, seconds: float) -> bool:
        """Take (or renew) the job's lease unless another live worker holds it.

        One conditional UPDATE decides, so two workers can never both win.
        """
        if not self._has_row(job):
            self.update_job(job)
        stamp = now()
        until = format_datetime(datetime.now(UTC) + timedelta(seconds=seconds))
        with self.db.write() as tx:
            won = tx.rowcount(update(prov_jobs).where(
                prov_jobs.c.name == job,
                or_(prov_jobs.c.lease_until.is_(None), prov_jobs.c.lease_until < stamp,
                    prov_jobs.c.lease_owner == owner),
            ).values(lease_owner=owner, lease_until=until))
        return won == 1

    def lease_owner(self, job: str) -> str | None:
        with self.db.read() as tx:
            owner = tx.scalar(select(prov_jobs.c.lease_owner).where(prov_jobs.c.name == job))
        return str(owner) if owner else None

    def release_lease(self, job: str, owner: str) -> None:
        with self.db.write() as tx:
            tx.execute(update(prov_jobs).where(prov_jobs.c.name == job,
                                               prov_jobs.c.lease_owner == owner)
                       .values(lease_owner=None, lease_until=None))

    def _has_row(self, job: str) -> bool:
        with self.db.read() as tx:
            return tx.first(select(prov_jobs.c.name).where(prov_jobs.c.name == job)) is not None

    def quarantine(self, job: str, reason: str) -> bool:
        """True when the job was not quarantined for this reason already (notify once)."""
        current = self.job_state(job)
        if current.quarantine_reason == reason:
            return False
        self.update_job(job, quarantine_reason=reason,
                        quarantined_since=current.quarantined_since or now())
        return True

    def release(self, job: str) -> None:
        if self.job_state(job).quarantine_reason is not None:
            self.update_job(job, quarantine_reason=None, quarantined_since=None)

    # -- objects ------------------------------------------------------------

    def load_objects(self, job: str) -> dict[tuple[str, str], Known]:
        with self.db.read() as tx:
            rows = tx.all(select(prov_objects.c.kind, prov_objects.c.source_id,
                                 prov_objects.c.target_id, prov_objects.c.source_hash,
                                 prov_objects.c.sent, prov_objects.c.in_scope,
                                 prov_objects.c.attempts, prov_objects.c.retry_after)
                          .where(prov_objects.c.job == job))
        return {(r[0], r[1]): Known(r[0], r[1], r[2], r[3], load_json(r[4]) or {}, bool(r[5]),
                                    int(r[6] or 0), r[7]) for r in rows}

    def save_objects(self, job: str, objects: Iterable[Known]) -> None:
        stamp = now()
        rows = [{"job": job, "kind": o.kind, "source_id": o.source_id, "target_id": o.target_id,
                 "source_hash": o.source_hash, "sent": dump_json(o.sent),
                 "in_scope": o.in_scope, "updated": stamp, "attempts": o.attempts,
                 "retry_after": o.retry_after} for o in objects]
        if rows:
            with self.db.write() as tx:
                tx.execute_many(self._upsert, rows)

    def drop_objects(self, job: str, kind: str, source_ids: Sequence[str]) -> None:
        if not source_ids:
            return
        with self.db.write() as tx:
            tx.execute(delete(prov_objects).where(
                prov_objects.c.job == job, prov_objects.c.kind == kind,
                prov_objects.c.source_id.in_(list(source_ids))))
            if kind == "group":
                tx.execute(delete(prov_members).where(
                    prov_members.c.job == job, prov_members.c.group_id.in_(list(source_ids))))

    # -- memberships sent ---------------------------------------------------

    def load_members(self, job: str) -> dict[str, set[str]]:
        with self.db.read() as tx:
            rows = tx.all(select(prov_members.c.group_id, prov_members.c.member_id)
                          .where(prov_members.c.job == job))
        members: dict[str, set[str]] = {}
        for group_id, member_id in rows:
            members.setdefault(group_id, set()).add(member_id)
        return members

    def record_members(self, job: str, group_id: str, added: Iterable[str],
                       removed: Iterable[str]) -> None:
        with self.db.write() as tx:
            if rows := [{"job": job, "g": group_id, "m": m} for m in removed]:
                tx.execute_many(_DELETE_MEMBER, rows)
            if rows := [{"job": job, "g": group_id, "m": m} for m in added]:
                tx.execute_many(_INSERT_MEMBER, rows)

    # -- the provisioning log -----------------------------------------------

    def write_log(self, job: str, cycle_id: str, entries: Sequence[LogEntry]) -> None:
        if not entries:
            return
        stamp = now()
        rows = [{"job": job, "cycle_id": cycle_id, "at": stamp, "kind": e.kind,
                 "source_id": e.source_id, "target_id": e.target_id, "identity": e.identity,
                 "action": e.action, "status": e.status, "error_code": e.error_code,
                 "detail": e.detail, "modified": dump_json(e.modified or []),
                 "duration_ms": e.duration_ms} for e in entries]
        with self.db.write() as tx:
            tx.execute_many(_INSERT_LOG, rows)

    def search_log(self, job: str | None = None, *, status: str | None = None,
                   action: str | None = None, text: str | None = None,
                   cycle_id: str | None = None, since: str | None = None,
                   limit: int = 1000) -> list[dict[str, Any]]:
        """Newest first; ``text`` matches the identity, source id or target id."""
        conditions = []
        if job:
            conditions.append(prov_log.c.job == job)
        if status:
            conditions.append(prov_log.c.status == status.lower())
        if action:
            conditions.append(prov_log.c.action == action.lower())
        if cycle_id:
            conditions.append(prov_log.c.cycle_id == cycle_id)
        if since:
            conditions.append(prov_log.c.at >= since)
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(prov_log.c.identity.like(pattern, escape="\\")
                              | prov_log.c.source_id.like(pattern, escape="\\")
                              | prov_log.c.target_id.like(pattern, escape="\\"))
        query = (select(prov_log).where(and_(*conditions)) if conditions else select(prov_log))
        with self.db.read() as tx:
            rows = tx.all(query.order_by(prov_log.c.id.desc()).limit(limit))
        names = [c.name for c in prov_log.columns]
        entries = [dict(zip(names, r, strict=True)) for r in rows]
        for e in entries:
            e["modified"] = load_json(e["modified"]) or []
        return entries


def _cycle(row: Any) -> CycleRecord:
    return CycleRecord(row[0], row[2], row[3], row[4], row[5], load_json(row[6]))
