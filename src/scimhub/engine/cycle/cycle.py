"""One provisioning cycle: import → match → scope → evaluate → provision, per object.

The steps carry the names of Entra's provisioning-log steps, so a log line leads
here. Users go first, then groups, then memberships as add/remove deltas in
batches of 100, then ``manager`` once every user has a target id. What the
engine learns (target ids, what it sent, a hash of each source object) is saved
as it goes, so an incremental cycle acts only on what changed and a cycle with
no change sends no write.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson

from scimhub.engine.config import JobConfig
from scimhub.engine.errors import CredentialsRejected, TargetError
from scimhub.engine.errors import DeletionThresholdExceeded as DeletionThresholdExceeded
from scimhub.engine.expressions import EvaluationContext, EvaluationError
from scimhub.engine.identity import claim_job
from scimhub.engine.mapping import AttributeMapping, desired_attributes
from scimhub.engine.scimdoc import build_resource, patch_operations, read_value
from scimhub.engine.scoping import in_scope
from scimhub.engine.sources.directory import Directory
from scimhub.engine.target.client import Created, ScimTarget
from scimhub.scim.resource import format_datetime
from scimhub.scim.schemas import GROUP, USER
from scimhub.security import token_digest
from scimhub.store.provisioning import EngineState, Known, LogEntry

T = TypeVar("T")
BATCH = 100
MANAGER_PATH = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"


@dataclass
class CycleSummary:
    cycle_id: str
    job: str
    kind: str
    dry_run: bool
    counts: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    requests: int = 0
    retries: int = 0
    duration_s: float = 0.0
    planned: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body = {"cycle_id": self.cycle_id, "job": self.job, "kind": self.kind,
                "dry_run": self.dry_run, "counts": dict(self.counts),
                "failures": self.failures, "requests": self.requests,
                "retries": self.retries,
                "duration_s": round(self.duration_s, 3)}
        if self.dry_run:
            body["planned"] = self.planned
        if self.error:
            body["error"] = self.error
        return body


def source_hash(obj: dict[str, Any], scoped: bool) -> str:
    return hashlib.sha256(orjson.dumps([obj, scoped], option=orjson.OPT_SORT_KEYS)).hexdigest()


def never() -> bool:
    return False


async def bounded(limit: int, items: Iterable[T], fn: Callable[[T], Awaitable[None]],
                  stop: Callable[[], bool] = never) -> None:
    """``fn`` over ``items`` with at most ``limit`` in flight, without one task per item;
    after ``stop()`` turns true the objects in flight finish and no new one starts."""
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:
            if stop():
                return
            await fn(item)

    tasks = [asyncio.ensure_future(worker()) for _ in range(max(1, limit))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        # One failure ends the phase (a lost lease, rejected credentials): the others must
        # not go on writing behind the caller's back, against a client about to close.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class Cycle:
    """Runs one cycle of one job. ``dry_run`` reads the target but writes nothing."""

    def __init__(self, job: JobConfig, state: EngineState, target: ScimTarget,
                 directory: Directory, *, dry_run: bool = False,
                 progress: Callable[[str, int, int], None] | None = None,
                 stop: Callable[[], bool] = never,
                 heartbeat: Callable[[], None] = lambda: None,
                 job_id: str | None = None) -> None:
        self.job = job
        #: The job's id, the key of all its state: claimed in run() (which checks that the
        #: job's stored target is this file's) unless the caller has claimed it already.
        self.key = job_id or ""
        self.state = state
        self.target = target
        self.directory = directory
        self.dry_run = dry_run
        self.progress = progress or (lambda _phase, _done, _total: None)
        self.stop = stop
        self.heartbeat = heartbeat
        self.ctx = EvaluationContext(datetime.now(UTC), random.SystemRandom())
        self.now = format_datetime(self.ctx.now)
        self.known: dict[tuple[str, str], Known] = {}
        self.members_sent: dict[str, set[str]] = {}
        self.log: list[LogEntry] = []
        self.dirty: list[Known] = []
        self.summary = CycleSummary("", job.name, "", dry_run)
        self.user_mappings = [m for m in job.user_mappings if not m.is_reference]
        self.manager_mapping = next((m for m in job.user_mappings if m.is_reference), None)

    # -- the cycle ------------------------------------------------------------

    async def run(self) -> CycleSummary:
        started = time.perf_counter()
        if not self.key:
            self.key = await claim_job(self.state, self.job, self.target,
                                       record=not self.dry_run)
        last = self.state.last_cycle(self.key)
        kind = "incremental" if last and last.fingerprint == self.job.fingerprint else "initial"
        self.summary.kind = kind
        self.summary.cycle_id = ("dry-run" if self.dry_run else self.state.start_cycle(
            self.key, kind, self.job.fingerprint, self.job.target.url,
            token_digest(self.job.target.token)))
        self.known = self.state.load_objects(self.key)
        self.members_sent = self.state.load_members(self.key)
        if kind == "initial":
            for known in self.known.values():
                known.source_hash = None  # re-evaluate everything; keep the links
        try:
            self._guard_deletions()
            for phase in (self._users, self._groups, self._memberships, self._managers):
                if self.stop():
                    self.summary.error = "stopped: the objects in flight finished"
                    break
                await phase()
        except CredentialsRejected as exc:
            self.summary.error = f"{exc.code}: {exc.detail}"
            raise
        except DeletionThresholdExceeded as exc:
            self.summary.error = str(exc)
            raise
        finally:
            self._flush(renew=False)
            self.summary.requests = self.target.requests
            self.summary.retries = self.target.retries
            self.summary.duration_s = time.perf_counter() - started
            if not self.dry_run:
                self.state.finish_cycle(self.summary.cycle_id, self.summary.to_dict())
        return self.summary

    def _flush(self, *, renew: bool = True) -> None:
        """Save what the cycle learned, then renew the lease.

        Saving comes first: the objects were really created on the target, and their
        links must survive even when the lease turns out to be lost (the heartbeat then
        raises and the cycle stops, leaving the job to the worker that took it over).
        """
        if self.dry_run:
            return
        self.state.save_objects(self.key, self.dirty)
        self.state.write_log(self.key, self.summary.cycle_id, self.log)
        self.dirty, self.log = [], []
        if renew:
            self.heartbeat()

    def _record(self, entry: LogEntry) -> None:
        self.log.append(entry)
        self.summary.counts[entry.action if entry.status == "success" else entry.status] += 1
        if entry.status == "failure":
            self.summary.failures += 1
        if len(self.log) >= 500:
            self._flush()

    def _remember(self, known: Known) -> None:
        self.known[(known.kind, known.source_id)] = known
        self.dirty.append(known)
        if len(self.dirty) >= 500:
            self._flush()

    # -- the accidental-deletion guard -------------------------------------------

    def _deprovisions(self) -> list[Known]:
        """The provisioned objects this cycle would disable or delete."""
        users = self.directory.users
        assigned = (self.directory.assigned_users() if self.job.scope_mode == "assigned"
                    else set(users))
        doomed = []
        for (kind, sid), known in self.known.items():
            if not known.target_id or not known.in_scope:
                continue
            if kind == "user":
                obj = users.get(sid)
                if obj is None or not (sid in assigned and in_scope(self.job.scoping, obj)):
                    doomed.append(known)
            elif (group := self.directory.groups.get(sid)) is None or not self._group_in_scope(
                    group):
                doomed.append(known)
        return doomed

    def _guard_deletions(self) -> None:
        """Stop before the first disable or delete when there are too many (docs/entra.md §2.2)."""
        doomed = self._deprovisions()
        threshold = self.job.actions.deletion_threshold
        if len(doomed) <= threshold or self.dry_run:
            return
        if self.state.job_state(self.key).allow_deletes:
            self.state.update_job(self.key, allow_deletes=False)  # allowed once
            return
        for known in doomed:
            self._record(LogEntry(known.kind, known.source_id, known.target_id,
                                  known.source_id, "stageddelete", "skipped",
                                  "DeletionThresholdExceeded",
                                  f"{len(doomed)} deprovisions exceed the threshold {threshold}"))
        raise DeletionThresholdExceeded(len(doomed), threshold)

    # -- users ----------------------------------------------------------------

    async def _users(self) -> None:
        users = self.directory.users
        assigned = (self.directory.assigned_users() if self.job.scope_mode == "assigned"
                    else set(users))
        work = []
        for uid, obj in users.items():
            scoped = uid in assigned and in_scope(self.job.scoping, obj)
            digest = source_hash(obj, scoped)
            known = self.known.get(("user", uid))
            if known is not None and (known.source_hash == digest or self._in_escrow(known)):
                continue
            work.append((uid, obj, scoped, digest))
        done = 0

        async def one(item: tuple[str, dict[str, Any], bool, str]) -> None:
            nonlocal done
            await self._user(*item)
            done += 1
            self.progress("users", done, len(work))

        await bounded(self.job.target.concurrency * 2, work, one, self.stop)
        await self._removed("user", set(users), "Users")

    async def _user(self, uid: str, obj: dict[str, Any], scoped: bool, digest: str) -> None:
        known = self.known.get(("user", uid))
        identity = str(obj.get("userPrincipalName") or obj.get("displayName") or uid)
        if not scoped:
            if known is not None and known.target_id and known.in_scope and not (
                    await self._deprovision("user", known, identity,
                                            self.job.actions.deprovision)):
                return  # in escrow: retried by a later cycle
            if known is not None and known.target_id:
                known.source_hash = digest if not self.dry_run else known.source_hash
                known.in_scope = False
                self._remember(known)
            else:
                self._remember(Known("user", uid, None, digest, {}, False))
            return
        source = {**obj, "IsSoftDeleted": obj.get("accountEnabled", True) is False}
        await self._provision("user", uid, source, identity, digest, known,
                              self.user_mappings, "Users")

    async def _provision(self, kind: str, sid: str, source: dict[str, Any], identity: str,
                         digest: str, known: Known | None, mappings: Sequence[AttributeMapping],
                         endpoint: str) -> None:
        """Evaluate the mappings, then create, update or leave the object."""
        start = time.perf_counter()
        try:
            if known is not None and known.target_id:
                desired = desired_attributes(mappings, source, self.ctx, creating=False)
                await self._update(kind, known, desired, identity, endpoint)
            else:
                await self._match_or_create(kind, sid, source, identity, mappings, endpoint)
                known = self.known.get((kind, sid))
            if known is not None and not self.dry_run:
                known.source_hash = digest
                known.in_scope = True
                known.attempts, known.retry_after = 0, None
                self._remember(known)
        except CredentialsRejected:
            raise
        except (TargetError, EvaluationError) as exc:
            self._failure(kind, sid, known.target_id if known else None, identity, exc, start)

    async def _update(self, kind: str, known: Known, desired: dict[str, Any], identity: str,
                      endpoint: str) -> None:
        ops = patch_operations(known.sent, desired)
        if not ops or not self.job.actions.update:
            return
        modified = [{"attribute": o["path"], "old": known.sent.get(o["path"]),
                     "new": o.get("value")} for o in ops]
        await self._write("update", kind, known.source_id, known.target_id, identity, modified,
                          lambda: self.target.patch(endpoint, known.target_id or "", ops))
        known.sent = {**known.sent, **desired}

    async def _match_or_create(self, kind: str, sid: str, source: dict[str, Any],
                               identity: str, mappings: Sequence[AttributeMapping],
                               endpoint: str) -> None:
        desired = desired_attributes(mappings, source, self.ctx, creating=True)
        found = None
        matchers = sorted((m for m in mappings if m.match), key=lambda m: m.match or 0)
        values = [(m, desired.get(m.target)) for m in matchers]
        if not any(v for _, v in values):
            self._record(LogEntry(kind, sid, None, identity, "skip", "skipped", "ImportSkipped",
                                  "The object has no value for any matching attribute"))
            return
        for mapping, value in values:
            if value:
                found = await self.target.find(endpoint, mapping.target, str(value))
                if found is not None:
                    break
        rtype = GROUP if kind == "group" else USER
        if found is not None:
            current = {t: read_value(found, t, rtype) for t in desired}
            linked = Known(kind, sid, str(found["id"]), None, current, True)
            self.known[(kind, sid)] = linked
            if kind == "group":
                self.members_sent[sid] = set()  # unknown: the delta pass adds what is missing
            update_wanted = desired_attributes(mappings, source, self.ctx, creating=False)
            await self._update(kind, linked, update_wanted, identity, endpoint)
            return
        if not self.job.actions.create:
            return
        body = build_resource({k: v for k, v in desired.items() if v is not None}, rtype)
        modified = [{"attribute": t, "old": None, "new": v} for t, v in desired.items()
                    if v is not None]
        # Look before you write: a create whose answer is lost, or that meets 409, is resolved
        # by querying these same matching attributes and linking, never by a blind resend.
        match = [(m.target, str(v)) for m, v in values if v]
        created = await self._write("create", kind, sid, None, identity, modified,
                                    lambda: self.target.create_or_find(endpoint, body, match,
                                                                       link_existing=True))
        target_id = (str(created.resource["id"]) if isinstance(created, Created)
                     else f"dry-run:{sid}")
        sent = {k: v for k, v in desired.items()}
        if isinstance(created, Created) and created.found:  # linked: it may not be what we sent
            sent = {t: read_value(created.resource, t, rtype) for t in desired}
        self.known[(kind, sid)] = Known(kind, sid, target_id, None, sent, True)
        if kind == "group":
            self.members_sent[sid] = set()
        if isinstance(created, Created) and created.found:
            update_wanted = desired_attributes(mappings, source, self.ctx, creating=False)
            await self._update(kind, self.known[(kind, sid)], update_wanted, identity, endpoint)

    async def _write(self, action: str, kind: str, sid: str | None, target_id: str | None,
                     identity: str, modified: list[dict[str, Any]],
                     send: Callable[[], Awaitable[Any]]) -> Any:
        """Send one write (or plan it, in a dry run) and log it."""
        start = time.perf_counter()
        if self.dry_run:
            self.summary.planned.append({"action": action, "kind": kind, "source_id": sid,
                                         "target_id": target_id, "identity": identity,
                                         "modified": modified})
            self.summary.counts[action] += 1
            return None
        result = await send()
        detail = None
        if isinstance(result, Created):  # a create, perhaps recovered by lookup
            target_id, detail = str(result.resource.get("id")), result.recovered
        elif isinstance(result, str):  # a member add's recovery note
            detail = result
        self._record(LogEntry(kind, sid, target_id, identity, action, "success",
                              detail=detail, modified=modified,
                              duration_ms=int((time.perf_counter() - start) * 1000)))
        return result

    def _in_escrow(self, known: Known) -> bool:
        """A failed object waits until its next retry is due."""
        return known.retry_after is not None and known.retry_after > self.now

    def _failure(self, kind: str, sid: str, target_id: str | None, identity: str,
                 exc: Exception, start: float) -> None:
        """Log the failure and put the object in escrow, retried on a growing schedule."""
        code = getattr(exc, "code", type(exc).__name__)
        detail = getattr(exc, "detail", str(exc))
        known = self.known.get((kind, sid)) or Known(kind, sid, target_id, None, {}, False)
        known.attempts += 1
        wait = min(self.job.escrow_seconds * 2 ** (known.attempts - 1), 86400.0)
        known.retry_after = format_datetime(self.ctx.now + timedelta(seconds=wait))
        self._record(LogEntry(kind, sid, target_id, identity, "provision", "failure",
                              str(code), f"attempt {known.attempts}: {detail}",
                              duration_ms=int((time.perf_counter() - start) * 1000)))
        if not self.dry_run:
            self._remember(known)

    async def _deprovision(self, kind: str, known: Known, identity: str, how: str) -> bool:
        """Disable or delete; False when the target refused (the object goes to escrow)."""
        endpoint = "Groups" if kind == "group" else "Users"
        start = time.perf_counter()
        try:
            if how == "delete" or kind == "group":
                if not self.job.actions.delete:
                    return True
                await self._write("delete", kind, known.source_id, known.target_id, identity,
                                  [], lambda: self.target.delete(endpoint, known.target_id or ""))
                known.target_id = None
                known.sent = {}
            else:
                ops = [{"op": "replace", "path": "active", "value": False}]
                if known.sent.get("active") is False:
                    return True
                await self._write("disable", kind, known.source_id, known.target_id, identity,
                                  [{"attribute": "active", "old": known.sent.get("active"),
                                    "new": False}],
                                  lambda: self.target.patch(endpoint, known.target_id or "", ops))
                known.sent = {**known.sent, "active": False}
        except CredentialsRejected:
            raise
        except TargetError as exc:
            self._failure(kind, known.source_id, known.target_id, identity, exc, start)
            return False
        return True

    async def _removed(self, kind: str, present: set[str], endpoint: str) -> None:
        """Objects gone from the source: deleted (or disabled) if the engine provisioned them."""
        gone = [k for (k_kind, sid), k in list(self.known.items())
                if k_kind == kind and sid not in present]
        how = self.job.actions.removed if kind == "user" else "delete"
        dropped = []
        for known in gone:
            if known.target_id and (known.in_scope or how == "delete"):
                await self._deprovision(kind, known, known.source_id, how)
            if known.target_id is None or how == "delete":
                dropped.append(known.source_id)
            elif not self.dry_run:
                known.in_scope = False
                self._remember(known)
        if not self.dry_run:
            self._flush()
            self.state.drop_objects(self.key, kind, dropped)
            for sid in dropped:
                self.known.pop((kind, sid), None)
                self.members_sent.pop(sid, None)

    # -- groups and memberships -------------------------------------------------

    def _group_in_scope(self, obj: dict[str, Any]) -> bool:
        return self.job.scope_mode == "all" or obj.get("assigned") is True

    async def _groups(self) -> None:
        work = []
        for gid, obj in self.directory.groups.items():
            scoped = self._group_in_scope(obj)
            plain = {k: v for k, v in obj.items() if k != "members"}
            digest = source_hash(plain, scoped)
            known = self.known.get(("group", gid))
            if known is not None and (known.source_hash == digest or self._in_escrow(known)):
                continue
            work.append((gid, plain, scoped, digest))

        async def one(item: tuple[str, dict[str, Any], bool, str]) -> None:
            gid, obj, scoped, digest = item
            known = self.known.get(("group", gid))
            identity = str(obj.get("displayName") or gid)
            if scoped:
                await self._provision("group", gid, obj, identity, digest, known,
                                      self.job.group_mappings, "Groups")
            elif known is not None and known.target_id:
                await self._deprovision("group", known, identity, "delete")
                self._remember(Known("group", gid, None, digest, {}, False))
                self.members_sent.pop(gid, None)
            else:
                self._remember(Known("group", gid, None, digest, {}, False))

        await bounded(self.job.target.concurrency, work, one, self.stop)
        await self._removed("group", set(self.directory.groups), "Groups")
        self._flush()

    def _user_target(self, source_id: str) -> str | None:
        known = self.known.get(("user", source_id))
        if known is None or not known.in_scope or not known.target_id:
            return None
        return known.target_id

    async def _memberships(self) -> None:
        """Members as deltas against what was last sent, in PATCHes of at most 100."""
        plans = []
        for gid, obj in self.directory.groups.items():
            known = self.known.get(("group", gid))
            if known is None or not known.target_id or not known.in_scope:
                continue
            desired = {m for m in obj.get("members", []) if self._user_target(m)}
            sent = self.members_sent.get(gid, set())
            add, remove = sorted(desired - sent), sorted(sent - desired)
            if add or remove:
                plans.append((known, str(obj.get("displayName") or gid), add, remove))

        async def one(plan: tuple[Known, str, list[str], list[str]]) -> None:
            await self._send_members(*plan)

        await bounded(self.job.target.concurrency, plans, one, self.stop)

    async def _send_members(self, group: Known, identity: str, add: list[str],
                            remove: list[str]) -> None:
        target_id = group.target_id or ""
        for i in range(0, len(add), BATCH):
            chunk = add[i:i + BATCH]
            ids = [t for m in chunk if (t := self._user_target(m))]
            ops = [{"op": "add", "path": "members", "value": [{"value": t} for t in ids]}]
            await self._member_write(group, identity, "add", chunk, ids, ops, target_id)
        for i in range(0, len(remove), BATCH):
            chunk = remove[i:i + BATCH]
            ids = [k.target_id for m in chunk if (k := self.known.get(("user", m)))
                   and k.target_id]
            ops = [{"op": "remove", "path": f'members[value eq "{t}"]'} for t in ids]
            await self._member_write(group, identity, "remove", chunk, ids, ops, target_id)

    async def _member_write(self, group: Known, identity: str, verb: str, chunk: list[str],
                            ids: list[str], ops: list[dict[str, Any]], target_id: str) -> None:
        start = time.perf_counter()
        modified = [{"attribute": "members", "old": None if verb == "add" else i,
                     "new": i if verb == "add" else None} for i in ids]
        try:
            if ids and verb == "add":  # not idempotent on every target: see add_members
                await self._write("update", "group", group.source_id, target_id, identity,
                                  modified, lambda: self.target.add_members(target_id, ids))
            elif ids:
                await self._write("update", "group", group.source_id, target_id, identity,
                                  modified, lambda: self.target.patch("Groups", target_id, ops))
        except CredentialsRejected:
            raise
        except TargetError as exc:
            self._failure("group", group.source_id, target_id, identity, exc, start)
            return
        if self.dry_run:
            return
        sent = self.members_sent.setdefault(group.source_id, set())
        if verb == "add":
            sent.update(chunk)
            self.state.record_members(self.key, group.source_id, chunk, [])
        else:
            sent.difference_update(chunk)
            self.state.record_members(self.key, group.source_id, [], chunk)

    # -- managers ---------------------------------------------------------------

    async def _managers(self) -> None:
        """``manager`` holds the manager's target id, known only once both are provisioned."""
        mapping = self.manager_mapping
        if mapping is None:
            return
        work = []
        for uid, obj in self.directory.users.items():
            known = self.known.get(("user", uid))
            if known is None or not known.target_id or not known.in_scope:
                continue
            manager_source = mapping.value(obj, self.ctx)
            wanted = self._user_target(str(manager_source)) if manager_source else None
            if wanted != known.sent.get(mapping.target):
                work.append((known, wanted, str(obj.get("userPrincipalName") or uid)))

        async def one(item: tuple[Known, str | None, str]) -> None:
            known, wanted, identity = item
            assert mapping is not None
            op = ({"op": "replace", "path": mapping.target, "value": {"value": wanted}}
                  if wanted else {"op": "remove", "path": mapping.target})
            start = time.perf_counter()
            try:
                await self._write("update", "user", known.source_id, known.target_id, identity,
                                  [{"attribute": mapping.target,
                                    "old": known.sent.get(mapping.target), "new": wanted}],
                                  lambda: self.target.patch("Users", known.target_id or "", [op]))
            except CredentialsRejected:
                raise
            except TargetError as exc:
                self._failure("user", known.source_id, known.target_id, identity, exc, start)
                return
            if not self.dry_run:
                known.sent = {**known.sent, mapping.target: wanted}
                self._remember(known)

        await bounded(self.job.target.concurrency, work, one, self.stop)
