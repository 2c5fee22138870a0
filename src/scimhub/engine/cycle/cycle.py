"""One provisioning cycle, as Entra runs it: users, then groups, memberships, managers.

Each object goes through Entra's steps, each in a module of that name: import (the
source), scope and change detection (``plan``), match (``match``), and the action
(``provision``: create, update, disable, delete, with escrow). Members follow as
add/remove deltas (``memberships``), then ``manager`` once every user has a target id
(``managers``). What the engine learns is saved as it goes, so an incremental cycle acts
only on what changed and a cycle with no change sends no write.

Provision on demand drives the same public steps: :meth:`Cycle.load`,
:meth:`Cycle.provision_user`, :meth:`Cycle.provision_group`, :meth:`Cycle.memberships`
and :meth:`Cycle.flush`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

from scimhub.engine.config import JobConfig
from scimhub.engine.cycle import managers, memberships
from scimhub.engine.cycle.match import DUPLICATE_SOURCE, match_or_create
from scimhub.engine.cycle.plan import (
    DeletionThresholdExceeded,
    Scope,
    Work,
    changed,
    deprovisions,
    duplicates,
    group_attributes,
    managed,
    removal_due,
    source_hash,
    work,
)
from scimhub.engine.cycle.provision import Provisioner, step
from scimhub.engine.cycle.roster import Roster, covered, read_roster, wants_listing
from scimhub.engine.cycle.summary import CycleKind, CycleSummary
from scimhub.engine.errors import CredentialsRejected
from scimhub.engine.expressions import EvaluationContext
from scimhub.engine.identity import claim_job
from scimhub.engine.mapping import AttributeMapping, desired_attributes
from scimhub.engine.sources.directory import Directory
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.types import SourceObject
from scimhub.security import token_digest
from scimhub.store.provisioning import EngineState, Known, LogEntry, ResourceKind, Step

__all__ = ["Cycle", "CycleSummary", "DeletionThresholdExceeded", "bounded", "never",
           "source_hash"]

T = TypeVar("T")


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


def _identity(kind: ResourceKind, sid: str, obj: SourceObject) -> str:
    if kind == "group":
        return str(obj.get("displayName") or sid)
    return str(obj.get("userPrincipalName") or obj.get("displayName") or sid)


class Cycle:
    """Runs one cycle of one job. ``dry_run`` reads the target but writes nothing."""

    def __init__(self, job: JobConfig, state: EngineState, target: ScimTarget,
                 directory: Directory, *, dry_run: bool = False,
                 progress: Callable[[str, int, int], None] | None = None,
                 stop: Callable[[], bool] = never,
                 heartbeat: Callable[[], None] = lambda: None,
                 job_id: str | None = None, cycle_id: str = "") -> None:
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
        self.summary = CycleSummary(cycle_id, job.name, "", dry_run)
        self.scope = Scope(job, directory)
        self.prov = Provisioner(job, state, target, key=self.key,
                                ctx=EvaluationContext(datetime.now(UTC), random.SystemRandom()),
                                summary=self.summary, dry_run=dry_run, heartbeat=heartbeat)
        self.user_mappings = [m for m in job.user_mappings if not m.is_reference]
        self.manager_mapping = next((m for m in job.user_mappings if m.is_reference), None)
        self._duplicates: dict[ResourceKind, set[str]] = {}
        #: The target's users by matching value, when this cycle matches by listing.
        self.roster: Roster | None = None

    # -- the cycle ------------------------------------------------------------

    async def run(self) -> CycleSummary:
        started = time.perf_counter()
        if not self.key:
            self.key = await claim_job(self.state, self.job, self.target,
                                       record=not self.dry_run)
        self.prov.key = self.key
        last = self.state.last_cycle(self.key)
        same = last is not None and last.fingerprint == self.job.fingerprint
        kind: CycleKind = "incremental" if same else "initial"
        self.summary.kind = kind
        self.summary.cycle_id = ("dry-run" if self.dry_run else self.state.start_cycle(
            self.key, kind, self.job.fingerprint, self.job.target.url,
            token_digest(self.job.target.token)))
        self.load()
        if kind == "initial":
            for known in self.prov.known.values():
                known.source_hash = None  # re-evaluate everything; keep the links
        try:
            self.guard_deletions()
            for phase in (self.users, self.groups, self.memberships, self.managers):
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
            self.flush(renew=False)
            self.summary.requests = self.target.requests
            self.summary.retries = self.target.retries
            self.summary.duration_s = time.perf_counter() - started
            if not self.dry_run:
                self.state.finish_cycle(self.summary.cycle_id, self.summary.to_dict())
        return self.summary

    def load(self) -> None:
        """What the engine knows of the job's objects: links, what it sent, members sent."""
        self.prov.key = self.key
        self.prov.load()

    def flush(self, *, renew: bool = True) -> list[LogEntry]:
        """Save what was learned and the log entries made since the last flush (returned)."""
        return self.prov.flush(renew=renew)

    def linked(self, kind: ResourceKind, sid: str) -> str | None:
        """The target id the source object is linked to, if any."""
        known = self.prov.known.get((kind, sid))
        return known.target_id if known is not None else None

    def guard_deletions(self) -> None:
        """Stop before the first disable or delete when there are too many (docs/entra.md
        §2.2); the withheld ones are logged as ``stageddelete``."""
        doomed = deprovisions(self.job, self.directory, self.scope, self.prov.known,
                              self.prov.ctx.now.timestamp())
        threshold = self.job.actions.deletion_threshold
        if len(doomed) <= threshold or self.dry_run:
            return
        if self.state.job_state(self.key).allow_deletes:
            self.state.update_job(self.key, allow_deletes=False)  # allowed once
            return
        for known in doomed:
            self.prov.record(LogEntry(
                known.kind, known.source_id, known.target_id, known.source_id, "stageddelete",
                "skipped", "DeletionThresholdExceeded",
                f"{len(doomed)} deprovisions exceed the threshold {threshold}"))
        raise DeletionThresholdExceeded(len(doomed), threshold)

    # -- users ----------------------------------------------------------------

    async def users(self) -> None:
        """Every user whose source changed, then the users removed from the source."""
        users = self.directory.users
        ids = changed("user", users, self.scope, self.prov.known, self.prov.now)
        self.roster = await self._roster(ids)
        done = 0

        async def one(uid: str) -> None:
            nonlocal done
            await self._user(work("user", uid, users[uid], self.scope))
            done += 1
            self.progress("users", done, len(ids))

        await bounded(self.job.target.concurrency * 2, ids, one, self.stop)
        await self._removed_users()

    async def _roster(self, ids: list[str]) -> Roster | None:
        """The target's users listed once, when that is cheaper than a probe per unlinked
        user (``roster.py``: only for a ``userName`` match, which the target keeps unique)."""
        matchers = [m for m in self.user_mappings if m.match]
        if len(matchers) != 1 or not covered([(matchers[0].target, "")]):
            return None
        known = self.prov.known
        users = self.directory.users
        unlinked = sum(1 for uid in ids if not self.linked("user", uid)
                       and self.scope.user(uid, users[uid]))
        linked = sum(1 for (kind, _), k in known.items() if kind == "user" and managed(k))
        if not wants_listing(unlinked, max(unlinked + linked, 1)):
            return None

        def page(read: int, total: int) -> None:
            self.progress("listing", read, total)
            self.prov.heartbeat()  # a listing of a million users is work on the lease too

        return await read_roster(self.target, matchers[0].target, page)

    async def provision_user(self, uid: str) -> None:
        """One user through scope, match and action now, whatever changed (on demand)."""
        obj = self.directory.users[uid]
        scoped = self.scope.user(uid, obj)
        await self._user(Work(uid, obj, scoped, source_hash(obj, scoped)))

    def _is_duplicate(self, kind: ResourceKind, sid: str) -> bool:
        """Shares a matching value with another source object in scope (computed once, and
        only when an unlinked object asks)."""
        if kind not in self._duplicates:
            if kind == "user":
                objects: Iterable[tuple[str, SourceObject]] = (
                    (u, o) for u, o in self.directory.users.items() if self.scope.user(u, o))
                mappings = self.user_mappings
            else:
                objects = ((g, group_attributes(o)) for g, o in self.directory.groups.items()
                           if self.scope.group(o))
                mappings = list(self.job.group_mappings)
            self._duplicates[kind] = duplicates(mappings, objects, self.prov.ctx)
        return sid in self._duplicates[kind]

    async def _user(self, item: Work) -> None:
        uid, obj = item.source_id, item.obj
        prov = self.prov
        known = prov.known.get(("user", uid))
        identity = _identity("user", uid, obj)
        steps: list[Step] = [step("import", "success", "read from the source")]
        if not item.scoped:
            reason = self.scope.why_not_user(uid, obj)
            await self._left_scope("user", uid, known, obj, identity, reason, item.digest,
                                   [*steps, step("scope", "out of scope", reason)])
            return
        steps.append(step("scope", "in scope", "assigned and within the scoping filters"))
        enabled = obj.get("accountEnabled", True) is not False
        linked = known is not None and known.target_id
        if not linked and not enabled:
            reason = ("disabled in the source (accountEnabled false): Entra does not create "
                      "a disabled user, it only disables one it manages")
            prov.skip("user", uid, None, identity, "EntrySynchronizationSkipped", reason, steps)
            prov.remember(Known("user", uid, None, item.digest, {}, False))
            return
        if not linked and self._is_duplicate("user", uid):
            prov.skip("user", uid, None, identity, DUPLICATE_SOURCE,
                      "another source user in scope has the same matching value: neither is "
                      "created or linked until one of them changes", steps)
            return
        source = {**obj, "IsSoftDeleted": not enabled}
        if linked and not enabled and prov.active is None and known is not None \
                and known.in_scope:
            prov.skip("user", uid, known.target_id, identity, "NoActiveMapping",
                      "disabled in the source: not disabled in the target, since no mapping "
                      "targets 'active' (Entra disables through the IsSoftDeleted mapping)",
                      steps)
        await self._provision("user", uid, source, identity, item.digest, known,
                              self.user_mappings, steps, self.roster)

    async def _provision(self, kind: ResourceKind, sid: str, source: SourceObject,
                         identity: str, digest: str, known: Known | None,
                         mappings: list[AttributeMapping], steps: list[Step],
                         roster: Roster | None = None) -> None:
        """Evaluate the mappings, then create, update or leave the object."""
        prov = self.prov
        result: list[Known | None] = [known]

        async def act() -> None:
            if known is not None and known.target_id:
                desired = desired_attributes(mappings, source, prov.ctx, creating=False,
                                             current=known.sent)
                await prov.update(kind, known, desired, identity, [*steps, step(
                    "match", "matched", f"linked to {known.target_id}")])
            else:
                result[0] = await match_or_create(prov, kind, sid, source, identity,
                                                  mappings, steps, roster)

        target_id = known.target_id if known else None
        if not await prov.guarded(kind, sid, target_id, identity, act, steps):
            return
        done = result[0]
        if done is not None and not self.dry_run:
            done.source_hash, done.in_scope = digest, True
            done.attempts, done.retry_after, done.gone_since = 0, None, None
            prov.remember(done)

    async def _left_scope(self, kind: ResourceKind, sid: str, known: Known | None,
                          obj: SourceObject, identity: str, reason: str, digest: str,
                          steps: list[Step]) -> None:
        """Out of scope: a managed object is deprovisioned; any other only logged."""
        prov = self.prov
        if known is None or not managed(known):
            prov.skip(kind, sid, known.target_id if known else None, identity,
                      "EntrySynchronizationSkipped", reason, steps)
            if known is None or not known.target_id:
                prov.remember(Known(kind, sid, None, digest, {}, False))
            elif not self.dry_run:
                known.source_hash = digest
                prov.remember(known)
            return
        if self.job.actions.skip_out_of_scope_deletions:
            prov.skip(kind, sid, known.target_id, identity, "SkipOutOfScopeDeletions",
                      f"{reason}; SkipOutOfScopeDeletions: left as it is in the target", steps)
        elif kind == "group" or self.job.actions.deprovision == "delete":
            if not await self._delete(known, identity, steps):
                return
        elif not await prov.guarded(kind, sid, known.target_id, identity,
                                    lambda: prov.disable(known, obj, identity, reason, steps),
                                    steps):
            return  # in escrow: retried by a later cycle
        if not self.dry_run:
            known.source_hash, known.in_scope = digest, False
            prov.remember(known)

    async def _delete(self, known: Known, identity: str, steps: list[Step]) -> bool:
        """DELETE, after removing a user from the groups it was sent to; False on failure."""
        prov = self.prov

        async def delete() -> None:
            if known.kind == "user":
                await memberships.withdraw(prov, known)
            await prov.delete(known, identity, steps)

        return await prov.guarded(known.kind, known.source_id, known.target_id, identity,
                                  delete, steps)

    async def _removed_users(self) -> None:
        """Users gone from the source: soft-deleted, then deleted ``delete_after`` later.

        Only while managed (linked and in scope); one no longer managed is left alone, as
        Entra leaves it (docs/entra.md §1.5). ``removed = "disable"`` never hard-deletes.
        """
        prov = self.prov
        present = self.directory.users
        # Over the values, not a list of items: a million (key, object) pairs made at once
        # were the initial cycle's peak memory at a million users.
        gone = [k for k in prov.known.values()
                if k.kind == "user" and k.source_id not in present]
        dropped = [k.source_id for k in gone if await self._removed_user(k)]
        if not self.dry_run:
            self.flush()
            self.state.drop_objects(self.key, "user", dropped)
            for sid in dropped:
                prov.known.pop(("user", sid), None)

    async def _removed_user(self, known: Known) -> bool:
        """One removed user's step; True when its record is to be dropped."""
        prov = self.prov
        steps = [step("import", "deleted", "no longer in the source")]
        if not managed(known):
            return True
        hard = self.job.actions.removed == "delete"
        if hard and removal_due(known, self.job, prov.ctx.now.timestamp()):
            return await self._delete(known, known.source_id, steps) and not self.dry_run
        if known.gone_since is not None:
            return False  # soft-deleted already: waiting for its hard delete
        disabled = await prov.guarded(
            "user", known.source_id, known.target_id, known.source_id,
            lambda: prov.disable(known, {}, known.source_id, "removed from the source", steps),
            steps)
        if disabled and not self.dry_run:
            known.gone_since, known.source_hash = prov.now, None
            known.in_scope = hard  # managed until its hard delete; "disable" lets it go
            prov.remember(known)
        return False

    # -- groups and memberships -------------------------------------------------

    async def groups(self) -> None:
        groups = self.directory.groups
        ids = changed("group", groups, self.scope, self.prov.known, self.prov.now)

        async def one(gid: str) -> None:
            await self._group(work("group", gid, groups[gid], self.scope))

        await bounded(self.job.target.concurrency, ids, one, self.stop)
        await self._removed_groups()
        self.flush()

    async def provision_group(self, gid: str) -> None:
        """One group through scope, match and action now (on demand); members apart."""
        obj = group_attributes(self.directory.groups[gid])
        scoped = self.scope.group(obj)
        await self._group(Work(gid, obj, scoped, source_hash(obj, scoped)))

    async def _group(self, item: Work) -> None:
        gid, obj = item.source_id, item.obj
        known = self.prov.known.get(("group", gid))
        identity = _identity("group", gid, obj)
        steps: list[Step] = [step("import", "success", "read from the source")]
        if not item.scoped:
            reason = self.scope.why_not_group(obj)
            await self._left_scope("group", gid, known, obj, identity, reason, item.digest,
                                   [*steps, step("scope", "out of scope", reason)])
            return
        steps.append(step("scope", "in scope", "assigned and within the scoping filters"))
        if (known is None or not known.target_id) and self._is_duplicate("group", gid):
            self.prov.skip("group", gid, None, identity, DUPLICATE_SOURCE,
                           "another source group in scope has the same matching value: "
                           "neither is created or linked until one of them changes", steps)
            return
        await self._provision("group", gid, obj, identity, item.digest, known,
                              list(self.job.group_mappings), steps)

    async def _removed_groups(self) -> None:
        """Groups gone from the source: deleted at once while managed (a SCIM group has no
        disabled state to soft-delete into); left alone otherwise."""
        prov = self.prov
        gone = [k for k in prov.known.values()
                if k.kind == "group" and k.source_id not in self.directory.groups]
        dropped = []
        for known in gone:
            steps = [step("import", "deleted", "no longer in the source")]
            if not managed(known) or (await self._delete(known, known.source_id, steps)
                                      and not self.dry_run):
                dropped.append(known.source_id)
        if not self.dry_run:
            self.flush()
            self.state.drop_objects(self.key, "group", dropped)
            for sid in dropped:
                prov.known.pop(("group", sid), None)
                prov.members_sent.pop(sid, None)

    async def memberships(self) -> None:
        """Members as deltas against what was last sent, in PATCHes of at most 100."""
        plans = memberships.plan(self.prov, self.directory.groups)

        async def one(plan: tuple[Known, str, list[str], list[str]]) -> None:
            await memberships.send(self.prov, *plan)

        await bounded(self.job.target.concurrency, plans, one, self.stop)

    # -- managers ---------------------------------------------------------------

    async def managers(self) -> None:
        """``manager`` holds the manager's target id, known only once both are provisioned."""
        mapping = self.manager_mapping
        if mapping is None:
            return
        work = managers.plan(self.prov, mapping, self.directory.users)

        async def one(item: managers.Work) -> None:
            assert mapping is not None
            await managers.send(self.prov, mapping, item)

        await bounded(self.job.target.concurrency, work, one, self.stop)
