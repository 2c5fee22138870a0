"""The engine's memory and its provisioning log, in the scimhub database.

Everything is keyed by the job's id (a UUID given the first time a job name
runs), never by its name, so two jobs can only share state by being the same
job row. The name is a unique, human lookup: ``job(name)`` finds the row,
``rename_job`` changes the name and keeps the id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypedDict

import orjson
from sqlalchemy import ColumnElement, and_, bindparam, delete, func, insert, or_, select, update
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
    prov_source,
    prov_source_objects,
    prov_target_schema,
)
from scimhub.store.sql import Tx, dump_json, load_json

#: The kind of the cycle record that a provision on demand writes its log entries under; it
#: never decides whether the next scheduled cycle is initial or incremental.
ON_DEMAND = "on-demand"


class NoSuchJob(LookupError):
    """No job of that name has ever run (or been started, stopped...) on this database."""


class JobExists(ValueError):
    """A rename to a name another job already has."""


#: The two kinds of object the engine provisions.
ResourceKind = Literal["user", "group"]
#: What a log entry is about: an object, or the job itself (a quarantine).
LogKind = Literal["user", "group", "job"]
#: A log entry's outcome, as Entra's provisioning log reports it (docs/entra.md §2.10).
LogStatus = Literal["success", "failure", "skipped"]
#: What the engine did (or would have done): the writes it sends, ``skip`` for an object it
#: left alone on purpose, ``stageddelete`` for a deprovision held back by the deletion
#: threshold, ``provision`` for a failed attempt, ``quarantine`` for the job itself.
LogAction = Literal["create", "update", "disable", "enable", "delete", "link", "skip",
                    "stageddelete", "provision", "quarantine"]
#: The steps of Entra's provisioning log, in the order an object goes through them.
StepName = Literal["import", "scope", "match", "action"]
STEP_NAMES: tuple[StepName, ...] = ("import", "scope", "match", "action")
#: Target attribute (a SCIM path such as ``name.givenName``) -> the value sent for it.
Sent = dict[str, Any]
#: A cycle's summary as stored and shown (counts, planned changes; ``engine/cycle/summary.py``).
CycleSummary = dict[str, Any]
#: One provisioning log entry as read back: its columns plus the job's name, as JSON.
LogRow = dict[str, Any]


class Step(TypedDict):
    """One step of a log entry, as Entra's log shows it: its name, what came of it (e.g.
    ``success``, ``skipped``, ``failure``, or a finding such as ``matched``) and why, in words
    (docs/entra.md §2.10). A TypedDict, so that a step is stored and shown as plain JSON."""

    step: StepName
    outcome: str
    reason: str


class Modified(TypedDict):
    """One modified property of a log entry: the target attribute, the value it had (as far
    as the engine knows) and the value sent. A redacted value is the text ``[Redact]``."""

    attribute: str
    old: Any
    new: Any


#: Each distinct tuple of attribute names a ``Known.sent`` has had, kept once for all.
_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}


class Known:
    """What the engine last did with one source object.

    One lives in memory per object the job ever saw (a million, for a million users), so it
    is kept small: slots, and ``sent`` packed (its names shared, its values as JSON text),
    parsed when read. ``sent`` is a property: assign a new dict to change it (a change made
    in place to the dict it returns is not kept).
    """

    __slots__ = ("_names", "_values", "attempts", "gone_since", "in_scope", "kind",
                 "retry_after", "source_hash", "source_id", "target_id")

    def __init__(self, kind: ResourceKind, source_id: str, target_id: str | None,
                 source_hash: str | None, sent: Sent | None = None, in_scope: bool = False,
                 attempts: int = 0, retry_after: str | None = None,
                 gone_since: str | None = None) -> None:
        self.kind: ResourceKind = kind
        self.source_id = source_id
        self.target_id = target_id
        self.source_hash = source_hash
        self.sent = sent or {}
        self.in_scope = in_scope
        #: Escrow: failed attempts in a row, and when the next one is due.
        self.attempts = attempts
        self.retry_after = retry_after
        #: When the object was first seen gone from the source (removed, or out of scope) and
        #: disabled in the target: Entra's soft delete, before the hard delete a configurable
        #: delay later (docs/entra.md §1.5, §2.2). None while the object is in the source.
        self.gone_since = gone_since

    @property
    def sent(self) -> Sent:
        """Target attribute -> the value last sent (a fresh dict at each read)."""
        if not self._names:
            return {}
        return dict(zip(self._names, orjson.loads(self._values), strict=True))

    @sent.setter
    def sent(self, value: Sent) -> None:
        # The attribute names, the same for nearly every object of a job, are kept once
        # (``_NAMES``); the values as JSON text, not orjson's bytes, which keep the 4 KB
        # buffer they were written into.
        names = tuple(value)
        self._names = _NAMES.setdefault(names, names) if names else ()
        self._values = orjson.dumps(list(value.values())).decode() if names else ""

    def sent_json(self) -> str:
        """``sent`` as the JSON text stored."""
        return orjson.dumps(self.sent).decode() if self._names else "{}"

    def _fields(self) -> tuple[Any, ...]:
        return (self.kind, self.source_id, self.target_id, self.source_hash, self.sent,
                self.in_scope, self.attempts, self.retry_after, self.gone_since)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Known) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return (f"Known(kind={self.kind!r}, source_id={self.source_id!r}, "
                f"target_id={self.target_id!r}, source_hash={self.source_hash!r}, "
                f"sent={self.sent!r}, in_scope={self.in_scope!r}, attempts={self.attempts!r}, "
                f"retry_after={self.retry_after!r}, gone_since={self.gone_since!r})")


class KnownObjects(MutableMapping[tuple[str, str], Known]):
    """Known objects by (kind, source id), held as one dict per kind keyed by the source id:
    as keys, a million (kind, id) tuples took 72 bytes each."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[str, Known]] = {}

    def __getitem__(self, key: tuple[str, str]) -> Known:
        return self._kinds[key[0]][key[1]]

    def __setitem__(self, key: tuple[str, str], known: Known) -> None:
        self._kinds.setdefault(key[0], {})[key[1]] = known

    def __delitem__(self, key: tuple[str, str]) -> None:
        del self._kinds[key[0]][key[1]]

    def __contains__(self, key: object) -> bool:
        return (isinstance(key, tuple) and len(key) == 2
                and key[1] in self._kinds.get(key[0], {}))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for kind, objects in self._kinds.items():
            for sid in objects:
                yield kind, sid

    def __len__(self) -> int:
        return sum(map(len, self._kinds.values()))


@dataclass(frozen=True)
class LogEntry:
    kind: LogKind
    source_id: str | None
    target_id: str | None
    identity: str | None
    action: LogAction
    status: LogStatus
    error_code: str | None = None
    detail: str | None = None
    modified: list[Modified] | list[dict[str, Any]] | None = None
    duration_ms: int | None = None
    #: Entra's steps (import, scope, match, action), each with its outcome and reason.
    steps: tuple[Step, ...] = ()


#: An object of a source's mirror: its kind ("user" or "group") and its source id.
MirrorKey = tuple[str, str]


@dataclass(frozen=True)
class SourceState:
    """A job's watermark and the identity of the source it was given by (its ``[source]``
    type and a fingerprint of that table without secrets)."""

    source_type: str
    fingerprint: str
    watermark: str | None


@dataclass(frozen=True)
class JobState:
    state: str = "enabled"
    quarantine_reason: str | None = None
    quarantined_since: str | None = None
    allow_deletes: bool = False


@dataclass(frozen=True)
class JobRecord:
    """A job's row: its identity (id, name), the target its state belongs to, its state."""

    id: str
    name: str
    target_url: str | None
    token_digest: str | None
    state: JobState
    restarted: str | None = None


@dataclass(frozen=True)
class CycleRecord:
    id: str
    kind: str
    started: str
    finished: str | None
    fingerprint: str
    summary: CycleSummary | None
    target_url: str | None = None


@dataclass(frozen=True)
class TenantJob:
    """A job as one tenant may see it: only its cycles that used the tenant's tokens."""

    id: str
    name: str
    last: CycleRecord


_JOB_COLUMNS = (prov_jobs.c.id, prov_jobs.c.name, prov_jobs.c.target_url,
                prov_jobs.c.token_digest, prov_jobs.c.state, prov_jobs.c.quarantine_reason,
                prov_jobs.c.quarantined_since, prov_jobs.c.allow_deletes, prov_jobs.c.restarted)
_CYCLE_COLUMNS = (prov_cycles.c.id, prov_cycles.c.kind, prov_cycles.c.started,
                  prov_cycles.c.finished, prov_cycles.c.fingerprint, prov_cycles.c.summary,
                  prov_cycles.c.target_url)


def _upsert_objects(is_sqlite: bool) -> Any:
    dialect_insert = sqlite.insert if is_sqlite else postgresql.insert
    stmt = dialect_insert(prov_objects).values(
        job_id=bindparam("job_id"), kind=bindparam("kind"), source_id=bindparam("source_id"),
        target_id=bindparam("target_id"), source_hash=bindparam("source_hash"),
        sent=bindparam("sent"), in_scope=bindparam("in_scope"), updated=bindparam("updated"),
        attempts=bindparam("attempts"), retry_after=bindparam("retry_after"),
        gone_since=bindparam("gone_since"))
    return stmt.on_conflict_do_update(
        index_elements=["job_id", "kind", "source_id"],
        set_={c: stmt.excluded[c] for c in ("target_id", "source_hash", "sent", "in_scope",
                                            "updated", "attempts", "retry_after",
                                            "gone_since")})


def _upsert_mirror(is_sqlite: bool) -> Any:
    dialect_insert = sqlite.insert if is_sqlite else postgresql.insert
    stmt = dialect_insert(prov_source_objects).values(
        job_id=bindparam("job_id"), kind=bindparam("kind"), source_id=bindparam("source_id"),
        data=bindparam("data"))
    return stmt.on_conflict_do_update(index_elements=["job_id", "kind", "source_id"],
                                      set_={"data": stmt.excluded.data})


def _upsert_source(is_sqlite: bool) -> Any:
    dialect_insert = sqlite.insert if is_sqlite else postgresql.insert
    stmt = dialect_insert(prov_source).values(
        job_id=bindparam("job_id"), source_type=bindparam("source_type"),
        fingerprint=bindparam("fingerprint"), watermark=bindparam("watermark"),
        updated=bindparam("updated"))
    return stmt.on_conflict_do_update(
        index_elements=["job_id"],
        set_={c: stmt.excluded[c] for c in ("source_type", "fingerprint", "watermark",
                                            "updated")})


_INSERT_MIRROR = insert(prov_source_objects).values(
    job_id=bindparam("job_id"), kind=bindparam("kind"), source_id=bindparam("source_id"),
    data=bindparam("data"))
_DELETE_MIRROR = delete(prov_source_objects).where(
    prov_source_objects.c.job_id == bindparam("job_id"),
    prov_source_objects.c.kind == bindparam("kind"),
    prov_source_objects.c.source_id == bindparam("source_id"))
_INSERT_LOG = insert(prov_log).values(**{c.name: bindparam(c.name) for c in prov_log.columns
                                          if c.name != "id"})
_INSERT_MEMBER = insert(prov_members).values(job_id=bindparam("job_id"), group_id=bindparam("g"),
                                             member_id=bindparam("m"))
_DELETE_MEMBER = delete(prov_members).where(
    prov_members.c.job_id == bindparam("job_id"), prov_members.c.group_id == bindparam("g"),
    prov_members.c.member_id == bindparam("m"))


class EngineState:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._upsert = _upsert_objects(db.is_sqlite)
        self._upsert_mirror = _upsert_mirror(db.is_sqlite)
        self._upsert_source = _upsert_source(db.is_sqlite)

    # -- job identity ---------------------------------------------------------

    def job(self, name: str) -> JobRecord | None:
        """The job of that name, or None when no job of that name is known."""
        with self.db.read() as tx:
            row = tx.first(select(*_JOB_COLUMNS).where(prov_jobs.c.name == name))
        return _job(row) if row else None

    def job_by_id(self, job_id: str) -> JobRecord | None:
        with self.db.read() as tx:
            row = tx.first(select(*_JOB_COLUMNS).where(prov_jobs.c.id == job_id))
        return _job(row) if row else None

    def ensure_job(self, name: str, target_url: str | None = None,
                   token_digest: str | None = None) -> JobRecord:
        """The job of that name, created (with a new id and this target) when there is none.

        Two processes creating the same name at once both end with the one row that won:
        the unique name decides.
        """
        found = self.job(name)
        if found is not None:
            return found
        try:
            with self.db.write() as tx:
                tx.execute(insert(prov_jobs).values(
                    id=str(uuid.uuid4()), name=name, updated=now(), target_url=target_url,
                    token_digest=token_digest, state="enabled", allow_deletes=False))
        except self.db.integrity_error:
            pass
        created = self.job(name)
        assert created is not None
        return created

    def record_target(self, job_id: str, target_url: str, token_digest: str) -> None:
        """The target (and token) the job's state now belongs to."""
        with self.db.write() as tx:
            tx.execute(update(prov_jobs).where(prov_jobs.c.id == job_id).values(
                target_url=target_url, token_digest=token_digest, updated=now()))

    def rename_job(self, old: str, new: str) -> JobRecord:
        """Give a job another name, keeping its id and so its links, escrow and log."""
        try:
            with self.db.write() as tx:
                changed = tx.rowcount(update(prov_jobs).where(prov_jobs.c.name == old)
                                      .values(name=new, updated=now()))
        except self.db.integrity_error:
            raise JobExists(f"a job named {new!r} exists already") from None
        if changed == 0:
            raise NoSuchJob(f"no job named {old!r}")
        renamed = self.job(new)
        assert renamed is not None
        return renamed

    def linked(self, job_id: str, limit: int = 3) -> list[tuple[str, str]]:
        """A few (kind, target id) pairs the job has linked, users first: what a token
        rotation is checked against."""
        with self.db.read() as tx:
            rows = tx.all(select(prov_objects.c.kind, prov_objects.c.target_id)
                          .where(prov_objects.c.job_id == job_id,
                                 prov_objects.c.target_id.is_not(None))
                          .order_by(prov_objects.c.kind.desc(), prov_objects.c.updated.desc())
                          .limit(limit))
        return [(str(r[0]), str(r[1])) for r in rows]

    def job_names(self) -> list[str]:
        with self.db.read() as tx:
            return sorted(str(r[0]) for r in tx.all(select(prov_jobs.c.name)))

    # -- cycles -------------------------------------------------------------

    def last_cycle(self, job_id: str) -> CycleRecord | None:
        """The newest finished scheduled cycle since the job was last restarted, if any."""
        restarted = select(prov_jobs.c.restarted).where(prov_jobs.c.id == job_id)
        with self.db.read() as tx:
            row = tx.first(select(*_CYCLE_COLUMNS).where(
                prov_cycles.c.job_id == job_id, prov_cycles.c.finished.is_not(None),
                prov_cycles.c.kind != ON_DEMAND,
                or_(restarted.scalar_subquery().is_(None),
                    prov_cycles.c.started > restarted.scalar_subquery()))
                .order_by(prov_cycles.c.started.desc()).limit(1))
        return _cycle(row) if row else None

    def cycles(self, job_id: str, limit: int = 20) -> list[CycleRecord]:
        with self.db.read() as tx:
            rows = tx.all(select(*_CYCLE_COLUMNS).where(prov_cycles.c.job_id == job_id)
                          .order_by(prov_cycles.c.started.desc()).limit(limit))
        return [_cycle(r) for r in rows]

    def start_cycle(self, job_id: str, kind: str, fingerprint: str,
                    target_url: str | None = None, token_digest: str | None = None) -> str:
        cycle_id = str(uuid.uuid4())
        with self.db.write() as tx:
            tx.execute(insert(prov_cycles).values(
                id=cycle_id, job_id=job_id, kind=kind, started=now(), fingerprint=fingerprint,
                target_url=target_url, token_digest=token_digest))
        return cycle_id

    def finish_cycle(self, cycle_id: str, summary: CycleSummary) -> None:
        with self.db.write() as tx:
            tx.execute(update(prov_cycles).where(prov_cycles.c.id == cycle_id)
                       .values(finished=now(), summary=dump_json(summary)))

    def tenant_jobs(self, digests: Sequence[str]) -> list[TenantJob]:
        """The jobs that ran a cycle with one of these token digests, each with the newest
        such cycle: what one tenant may see of the engine, whatever the jobs are called."""
        if not digests:
            return []
        mine = prov_cycles.c.token_digest.in_(list(digests))
        newest = (select(prov_cycles.c.job_id, func.max(prov_cycles.c.started).label("started"))
                  .where(mine).group_by(prov_cycles.c.job_id).subquery())
        with self.db.read() as tx:
            rows = tx.all(select(prov_jobs.c.id, prov_jobs.c.name, *_CYCLE_COLUMNS)
                          .select_from(prov_cycles.join(
                              newest, and_(newest.c.job_id == prov_cycles.c.job_id,
                                           newest.c.started == prov_cycles.c.started))
                              .join(prov_jobs, prov_jobs.c.id == prov_cycles.c.job_id))
                          .where(mine).order_by(prov_jobs.c.name))
        seen: set[str] = set()
        jobs = []
        for row in rows:
            if str(row[0]) not in seen:
                seen.add(str(row[0]))
                jobs.append(TenantJob(str(row[0]), str(row[1]), _cycle(row[2:])))
        return jobs

    def restart(self, job_id: str) -> None:
        """Entra's Restart provisioning (docs/entra.md §2.1.1): the watermark is cleared (the
        next cycle is initial and re-evaluates every object), the escrow too (failed objects
        are retried by that cycle, not after their back-off), and the job leaves quarantine
        and runs again if stopped. The source's watermark and mirror go too, so that cycle
        reads the whole directory (``since=None``) instead of what changed. The links stay:
        the initial cycle updates the objects it knows without matching them again, and
        creates nothing twice. So do the memberships sent, the recorded target, the cycles
        and the log.
        """
        with self.db.write() as tx:
            _clear_source(tx, job_id)
            tx.execute(update(prov_objects).where(prov_objects.c.job_id == job_id)
                       .values(attempts=0, retry_after=None))
            tx.execute(update(prov_jobs).where(prov_jobs.c.id == job_id)
                       .values(restarted=now(), updated=now(), state="enabled",
                               quarantine_reason=None, quarantined_since=None))

    def reset(self, job_id: str) -> None:
        """The destructive restart (Entra's Graph ``restart`` with ``resetScope: Full``,
        docs/entra.md §2.1.1): everything a restart clears (the source's watermark and
        mirror included), and also the links, the escrow,
        the memberships sent and the recorded target, so the next cycle matches every object
        by its matching attributes again and may run against another target. The id, the
        name, the cycles and the log stay: they are history, and the console attributes log
        entries to tenants through their cycle.
        """
        with self.db.write() as tx:
            _clear_source(tx, job_id)
            for table in (prov_objects, prov_members):
                tx.execute(delete(table).where(table.c.job_id == job_id))
            tx.execute(update(prov_jobs).where(prov_jobs.c.id == job_id)
                       .values(restarted=now(), updated=now(), target_url=None,
                               token_digest=None, state="enabled", quarantine_reason=None,
                               quarantined_since=None))

    # -- job state ----------------------------------------------------------

    def job_state(self, job_id: str) -> JobState:
        found = self.job_by_id(job_id)
        return found.state if found else JobState()

    def update_job(self, job_id: str, **values: Any) -> None:
        """Change a job's state row (``state``, quarantine, ``allow_deletes``...)."""
        with self.db.write() as tx:
            tx.execute(update(prov_jobs).where(prov_jobs.c.id == job_id)
                       .values(**values, updated=now()))

    def acquire_lease(self, job_id: str, owner: str, seconds: float) -> bool:
        """Take (or renew) the job's lease unless another live worker holds it.

        One conditional UPDATE decides, so two workers can never both win.
        """
        stamp = now()
        until = format_datetime(datetime.now(UTC) + timedelta(seconds=seconds))
        with self.db.write() as tx:
            won = tx.rowcount(update(prov_jobs).where(
                prov_jobs.c.id == job_id,
                or_(prov_jobs.c.lease_until.is_(None), prov_jobs.c.lease_until < stamp,
                    prov_jobs.c.lease_owner == owner),
            ).values(lease_owner=owner, lease_until=until))
        return won == 1

    def lease_owner(self, job_id: str) -> str | None:
        with self.db.read() as tx:
            owner = tx.scalar(select(prov_jobs.c.lease_owner).where(prov_jobs.c.id == job_id))
        return str(owner) if owner else None

    def release_lease(self, job_id: str, owner: str) -> None:
        with self.db.write() as tx:
            tx.execute(update(prov_jobs).where(prov_jobs.c.id == job_id,
                                               prov_jobs.c.lease_owner == owner)
                       .values(lease_owner=None, lease_until=None))

    def quarantine(self, job_id: str, reason: str) -> bool:
        """True when the job was not quarantined for this reason already (notify once)."""
        current = self.job_state(job_id)
        if current.quarantine_reason == reason:
            return False
        self.update_job(job_id, quarantine_reason=reason,
                        quarantined_since=current.quarantined_since or now())
        return True

    def release(self, job_id: str) -> None:
        if self.job_state(job_id).quarantine_reason is not None:
            self.update_job(job_id, quarantine_reason=None, quarantined_since=None)

    # -- objects ------------------------------------------------------------

    def load_objects(self, job_id: str) -> KnownObjects:
        """Every object the job knows, read a thousand rows at a time: a million rows fetched
        at once would hold all their columns in memory beside the objects made of them."""
        known = KnownObjects()
        with self.db.read() as tx:
            cursor = tx.execute(select(prov_objects.c.kind, prov_objects.c.source_id,
                                       prov_objects.c.target_id, prov_objects.c.source_hash,
                                       prov_objects.c.sent, prov_objects.c.in_scope,
                                       prov_objects.c.attempts, prov_objects.c.retry_after,
                                       prov_objects.c.gone_since)
                                .where(prov_objects.c.job_id == job_id))
            while rows := cursor.fetchmany(1000):
                for r in rows:
                    known[(r[0], r[1])] = Known(r[0], r[1], r[2], r[3], load_json(r[4]) or {},
                                                bool(r[5]), int(r[6] or 0), r[7], r[8])
        return known

    def save_objects(self, job_id: str, objects: Iterable[Known]) -> None:
        stamp = now()
        rows = [{"job_id": job_id, "kind": o.kind, "source_id": o.source_id,
                 "target_id": o.target_id, "source_hash": o.source_hash,
                 "sent": o.sent_json(), "in_scope": o.in_scope, "updated": stamp,
                 "attempts": o.attempts, "retry_after": o.retry_after,
                 "gone_since": o.gone_since} for o in objects]
        if rows:
            with self.db.write() as tx:
                tx.execute_many(self._upsert, rows)

    def drop_objects(self, job_id: str, kind: str, source_ids: Sequence[str]) -> None:
        if not source_ids:
            return
        with self.db.write() as tx:
            tx.execute(delete(prov_objects).where(
                prov_objects.c.job_id == job_id, prov_objects.c.kind == kind,
                prov_objects.c.source_id.in_(list(source_ids))))
            if kind == "group":
                tx.execute(delete(prov_members).where(
                    prov_members.c.job_id == job_id,
                    prov_members.c.group_id.in_(list(source_ids))))

    # -- the source's mirror and watermark -----------------------------------

    def source_state(self, job_id: str) -> SourceState | None:
        """The job's watermark and its source's identity; None before the first save."""
        with self.db.read() as tx:
            row = tx.first(select(prov_source.c.source_type, prov_source.c.fingerprint,
                                  prov_source.c.watermark)
                           .where(prov_source.c.job_id == job_id))
        return SourceState(str(row[0]), str(row[1]), row[2]) if row else None

    def load_mirror(self, job_id: str) -> dict[MirrorKey, dict[str, Any]]:
        """Every object of the job's mirror, in one query (100,000 users: one round trip)."""
        with self.db.read() as tx:
            rows = tx.all(select(prov_source_objects.c.kind, prov_source_objects.c.source_id,
                                 prov_source_objects.c.data)
                          .where(prov_source_objects.c.job_id == job_id))
        return {(str(r[0]), str(r[1])): load_json(r[2]) for r in rows}

    def save_source(self, job_id: str, state: SourceState, *,
                    changed: Mapping[MirrorKey, Mapping[str, Any]],
                    removed: Iterable[MirrorKey] = (), replace: bool = False) -> None:
        """The watermark and the mirror's changes, in ONE transaction: a crash between them
        would otherwise leave a watermark past changes the mirror never got (lost for good,
        as the next delta starts after them). ``replace``: the mirror becomes exactly
        ``changed`` (a complete read of a source with another identity, or a first one);
        otherwise only the rows named are written or deleted."""
        upserts = [{"job_id": job_id, "kind": kind, "source_id": sid, "data": dump_json(obj)}
                   for (kind, sid), obj in changed.items()]
        deletes = [{"job_id": job_id, "kind": kind, "source_id": sid} for kind, sid in removed]
        with self.db.write() as tx:
            if replace:
                tx.execute(delete(prov_source_objects)
                           .where(prov_source_objects.c.job_id == job_id))
            elif deletes:
                tx.execute_many(_DELETE_MIRROR, deletes)
            if upserts:
                tx.execute_many(_INSERT_MIRROR if replace else self._upsert_mirror, upserts)
            tx.execute(self._upsert_source, {
                "job_id": job_id, "source_type": state.source_type,
                "fingerprint": state.fingerprint, "watermark": state.watermark,
                "updated": now()})

    # -- the target's schema, as last discovered ----------------------------------

    def save_target_schema(self, job_id: str, listing: Mapping[str, Any]) -> None:
        """Replace what the job's last discovery of its target found (one row per job)."""
        with self.db.write() as tx:
            tx.execute(delete(prov_target_schema).where(prov_target_schema.c.job_id == job_id))
            tx.execute(insert(prov_target_schema).values(
                job_id=job_id, discovered=now(), listing=dump_json(listing)))

    def target_schema(self, job_id: str) -> tuple[str, dict[str, Any]] | None:
        """When the job's target was last discovered, and what was found; None if never."""
        with self.db.read() as tx:
            row = tx.first(select(prov_target_schema.c.discovered, prov_target_schema.c.listing)
                           .where(prov_target_schema.c.job_id == job_id))
        return (str(row[0]), load_json(row[1])) if row else None

    def clear_source(self, job_id: str) -> None:
        """Forget the watermark and the mirror: the next cycle reads everything."""
        with self.db.write() as tx:
            _clear_source(tx, job_id)

    # -- memberships sent ---------------------------------------------------

    def load_members(self, job_id: str) -> dict[str, set[str]]:
        with self.db.read() as tx:
            rows = tx.all(select(prov_members.c.group_id, prov_members.c.member_id)
                          .where(prov_members.c.job_id == job_id))
        members: dict[str, set[str]] = {}
        for group_id, member_id in rows:
            members.setdefault(group_id, set()).add(member_id)
        return members

    def record_members(self, job_id: str, group_id: str, added: Iterable[str],
                       removed: Iterable[str]) -> None:
        with self.db.write() as tx:
            if rows := [{"job_id": job_id, "g": group_id, "m": m} for m in removed]:
                tx.execute_many(_DELETE_MEMBER, rows)
            if rows := [{"job_id": job_id, "g": group_id, "m": m} for m in added]:
                tx.execute_many(_INSERT_MEMBER, rows)

    # -- the provisioning log -----------------------------------------------

    def write_log(self, job_id: str, cycle_id: str, entries: Sequence[LogEntry]) -> None:
        if not entries:
            return
        stamp = now()
        rows = [{"job_id": job_id, "cycle_id": cycle_id, "at": stamp, "kind": e.kind,
                 "source_id": e.source_id, "target_id": e.target_id, "identity": e.identity,
                 "action": e.action, "status": e.status, "error_code": e.error_code,
                 "detail": e.detail, "modified": dump_json(e.modified or []),
                 "duration_ms": e.duration_ms, "steps": dump_json(list(e.steps))}
                for e in entries]
        with self.db.write() as tx:
            tx.execute_many(_INSERT_LOG, rows)

    def search_log(self, job_id: str | None = None, *, job_name: str | None = None,
                   token_digests: Sequence[str] | None = None, status: str | None = None,
                   action: str | None = None, text: str | None = None,
                   cycle_id: str | None = None, since: str | None = None,
                   limit: int = 1000) -> list[LogRow]:
        """Newest first; ``text`` matches the identity, source id or target id.

        With ``token_digests``, only entries written by a cycle that authenticated with
        one of those tokens: one tenant's view, whichever job wrote them (an empty list
        matches nothing). Each entry carries the job's current name as ``job``.
        """
        conditions: list[ColumnElement[bool]] = []
        joined = prov_log.join(prov_jobs, prov_jobs.c.id == prov_log.c.job_id)
        if token_digests is not None:
            if not token_digests:
                return []
            joined = joined.join(prov_cycles, prov_cycles.c.id == prov_log.c.cycle_id)
            conditions.append(prov_cycles.c.token_digest.in_(list(token_digests)))
        if job_id:
            conditions.append(prov_log.c.job_id == job_id)
        if job_name:
            conditions.append(prov_jobs.c.name == job_name)
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
        query = select(prov_log, prov_jobs.c.name).select_from(joined).where(and_(*conditions))
        with self.db.read() as tx:
            rows = tx.all(query.order_by(prov_log.c.id.desc()).limit(limit))
        names = [c.name for c in prov_log.columns] + ["job"]
        entries = [dict(zip(names, r, strict=True)) for r in rows]
        for e in entries:
            e["modified"] = load_json(e["modified"]) or []
            e["steps"] = load_json(e["steps"]) or []
        return entries


def _clear_source(tx: Tx, job_id: str) -> None:
    for table in (prov_source_objects, prov_source):
        tx.execute(delete(table).where(table.c.job_id == job_id))


def _job(row: Any) -> JobRecord:
    return JobRecord(str(row[0]), str(row[1]), row[2], row[3],
                     JobState(str(row[4]), row[5], row[6], bool(row[7])), row[8])


def _cycle(row: Any) -> CycleRecord:
    return CycleRecord(str(row[0]), str(row[1]), str(row[2]), row[3], str(row[4]),
                       load_json(row[5]), row[6])
