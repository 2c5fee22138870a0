"""Provision: Entra's "perform action" step (create, update, disable, delete) and escrow.

A :class:`Provisioner` holds what one cycle knows about its objects (links, what was
sent, memberships sent) and makes every write: it logs each one (with Entra's steps and
``[Redact]`` for redacted values), plans it instead in a dry run, and puts an object
whose write failed in escrow, retried on a growing schedule (docs/entra.md §2.7).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, TypeVar

from scimhub.engine.config import JobConfig
from scimhub.engine.cycle.summary import CycleSummary
from scimhub.engine.errors import CredentialsRejected, Rejected, TargetError
from scimhub.engine.expressions import IGNORE_FLOW, EvaluationContext, EvaluationError
from scimhub.engine.expressions.ast import Attribute, Call, walk
from scimhub.engine.mapping import AttributeMapping, typed
from scimhub.engine.scimdoc import patch_operations
from scimhub.engine.target.client import Created, ScimTarget
from scimhub.engine.types import Desired, SourceObject
from scimhub.scim.resource import format_datetime
from scimhub.scim.types import Endpoint, PatchOperationBody
from scimhub.store.provisioning import (
    EngineState,
    Known,
    KnownObjects,
    LogAction,
    LogEntry,
    Modified,
    ResourceKind,
    Step,
    StepName,
)

T = TypeVar("T")
REDACTED = "[Redact]"

#: The real values of the redacted attributes the object in hand is being sent, so that a
#: target's error text quoting one (``invalid value 'x' for nickName``) is logged as
#: ``[Redact]`` too. Per task: the cycle works on several objects at once, one per task.
_SECRETS: ContextVar[set[str] | None] = ContextVar("redacted_values", default=None)


def _secret_strings(value: Any) -> list[str]:
    values = value if isinstance(value, list | tuple) else [value]
    return [str(v) for v in values if v is not None and str(v) != ""]


def scrub(text: str | None, secrets: set[str]) -> str | None:
    """``text`` with every redacted value in it replaced, longest first."""
    if not text:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def endpoint_of(kind: ResourceKind) -> Endpoint:
    return "Groups" if kind == "group" else "Users"


def step(name: StepName, outcome: str, reason: str) -> Step:
    return {"step": name, "outcome": outcome, "reason": reason}


def redacted_targets(mappings: Sequence[AttributeMapping]) -> frozenset[str]:
    """Target attributes whose value comes through ``Redact()``: logged as ``[Redact]``."""
    return frozenset(m.target.lower() for m in mappings
                     if m.expression is not None and m.expression.redacted)


def redacted_sources(mappings: Sequence[AttributeMapping]) -> frozenset[str]:
    """Source attributes read inside ``Redact()``: hidden where the import step shows them."""
    names: set[str] = set()
    for m in mappings:
        if m.expression is None or not m.expression.redacted:
            continue
        for node in walk(m.expression.root):
            if isinstance(node, Call) and node.name.lower() == "redact":
                names.update(n.name.lower() for a in node.args for n in walk(a)
                             if isinstance(n, Attribute))
    return frozenset(names)


def hide(obj: Mapping[str, Any], sources: frozenset[str]) -> SourceObject:
    return {k: (REDACTED if k.lower() in sources and v is not None else v)
            for k, v in obj.items()}


class Provisioner:
    """The writes of one cycle, their log, and the engine's memory of each object."""

    def __init__(self, job: JobConfig, state: EngineState, target: ScimTarget, *,
                 key: str, ctx: EvaluationContext, summary: CycleSummary, dry_run: bool,
                 heartbeat: Callable[[], None]) -> None:
        self.job = job
        self.state = state
        self.target = target
        self.key = key
        self.ctx = ctx
        self.now = format_datetime(ctx.now)
        self.summary = summary
        self.dry_run = dry_run
        self.heartbeat = heartbeat
        self.known: MutableMapping[tuple[str, str], Known] = KnownObjects()
        self.members_sent: dict[str, set[str]] = {}
        #: (kind, target id) → the source id linked to it: one target object, one source.
        #: Built on first use (a cycle that links nothing found never needs it).
        self._owners: dict[tuple[str, str], str] | None = None
        self.log: list[LogEntry] = []
        self.dirty: list[Known] = []
        self.redacted = redacted_targets([*job.user_mappings, *job.group_mappings])
        self.active = next((m for m in job.user_mappings if m.target.lower() == "active"), None)

    # -- memory -------------------------------------------------------------

    def load(self) -> None:
        self.known = self.state.load_objects(self.key)
        self.members_sent = self.state.load_members(self.key)
        self._owners = None

    def link(self, known: Known) -> None:
        self.known[(known.kind, known.source_id)] = known
        if known.target_id and self._owners is not None:
            self._owners[(known.kind, known.target_id)] = known.source_id

    def owner(self, kind: ResourceKind, target_id: str) -> str | None:
        if self._owners is None:
            self._owners = {(k.kind, k.target_id): k.source_id for k in self.known.values()
                            if k.target_id}
        return self._owners.get((kind, target_id))

    def forget_link(self, known: Known) -> None:
        """The target object is gone (deleted, or out of band): the next cycle matches anew."""
        if known.target_id and self._owners is not None:
            self._owners.pop((known.kind, known.target_id), None)
        known.target_id, known.sent, known.source_hash, known.in_scope = None, {}, None, False
        if known.kind == "group":
            self.members_sent.pop(known.source_id, None)

    def remember(self, known: Known) -> None:
        self.known[(known.kind, known.source_id)] = known
        if self.dry_run:
            return
        self.dirty.append(known)
        if len(self.dirty) >= 500:
            self.flush()

    def flush(self, *, renew: bool = True) -> list[LogEntry]:
        """Save what the cycle learned, then renew the lease; the log entries written.

        Saving comes first: the objects were really created on the target, and their links
        must survive even when the lease turns out to be lost (the heartbeat then raises and
        the cycle stops, leaving the job to the worker that took it over).
        """
        entries = self.log
        if self.dry_run:
            self.log = []
            return entries
        self.state.save_objects(self.key, self.dirty)
        self.state.write_log(self.key, self.summary.cycle_id, entries)
        self.dirty, self.log = [], []
        if renew:
            self.heartbeat()
        return entries

    # -- the log ------------------------------------------------------------

    def record(self, entry: LogEntry) -> None:
        if secrets := _SECRETS.get():
            entry = dataclasses.replace(
                entry, detail=scrub(entry.detail, secrets),
                steps=tuple({**s, "reason": scrub(s["reason"], secrets) or ""}
                            for s in entry.steps))
        self.log.append(entry)
        self.summary.counts[entry.action if entry.status == "success" else entry.status] += 1
        if entry.status == "failure":
            self.summary.failures += 1
        if len(self.log) >= 500:
            self.flush()

    def skip(self, kind: ResourceKind, sid: str, target_id: str | None, identity: str,
             code: str, reason: str, steps: Sequence[Step] = ()) -> None:
        """An object left alone on purpose, with why (Entra's ``Skipped`` status)."""
        self.record(LogEntry(kind, sid, target_id, identity, "skip", "skipped", code, reason,
                             steps=(*steps, step("action", "skipped", reason))))

    def shown(self, attribute: str, value: Any) -> Any:
        """A value as the log, dry run and on-demand output may show it."""
        if value is None or attribute.lower() not in self.redacted:
            return value
        if (secrets := _SECRETS.get()) is not None:
            secrets.update(_secret_strings(value))
        return REDACTED

    def change(self, attribute: str, old: Any, new: Any) -> Modified:
        return {"attribute": attribute, "old": self.shown(attribute, old),
                "new": self.shown(attribute, new)}

    # -- writes -------------------------------------------------------------

    async def write(self, action: LogAction, kind: ResourceKind, sid: str | None,
                    target_id: str | None, identity: str, modified: list[Modified],
                    send: Callable[[], Awaitable[T]], steps: Sequence[Step] = ()) -> T | None:
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
        self.record(LogEntry(kind, sid, target_id, identity, action, "success",
                             detail=detail, modified=modified,
                             duration_ms=int((time.perf_counter() - start) * 1000),
                             steps=(*steps, step("action", "success", action))))
        return result

    async def update(self, kind: ResourceKind, known: Known, desired: Desired,
                     identity: str, steps: Sequence[Step] = ()) -> None:
        """PATCH what changed since what was last sent (Entra's Update)."""
        ops = patch_operations(known.sent, desired)
        if not ops or not self.job.actions.update:
            return
        modified = [self.change(o["path"], known.sent.get(o["path"]), o.get("value"))
                    for o in ops]
        target_id = known.target_id or ""
        await self.write("update", kind, known.source_id, known.target_id, identity, modified,
                         lambda: self.target.patch(endpoint_of(kind), target_id, ops), steps)
        known.sent = {**known.sent, **desired}

    async def disable(self, known: Known, obj: Mapping[str, Any], identity: str, why: str,
                      steps: Sequence[Step] = ()) -> None:
        """Entra's soft delete: ``IsSoftDeleted`` turns true and the ``active`` mapping says
        what to send. No mapping to ``active``, nothing is sent, only logged (§1.5, §2.2)."""
        mapping = self.active
        if mapping is None:
            self.skip("user", known.source_id, known.target_id, identity, "NoActiveMapping",
                      f"{why}: not disabled in the target, since no mapping targets 'active' "
                      "(Entra disables through the IsSoftDeleted mapping)", steps)
            return
        value = typed(mapping.value({**obj, "IsSoftDeleted": True}, self.ctx), mapping.leaf)
        if value is None or value is IGNORE_FLOW or value == known.sent.get(mapping.target):
            return
        ops: list[PatchOperationBody] = [{"op": "replace", "path": mapping.target,
                                          "value": value}]
        target_id = known.target_id or ""
        await self.write("disable", "user", known.source_id, known.target_id, identity,
                         [self.change(mapping.target, known.sent.get(mapping.target), value)],
                         lambda: self.target.patch("Users", target_id, ops), steps)
        known.sent = {**known.sent, mapping.target: value}

    async def delete(self, known: Known, identity: str, steps: Sequence[Step] = ()) -> bool:
        """DELETE; False when the Delete action is turned off (the object stays linked)."""
        if not self.job.actions.delete:
            self.skip(known.kind, known.source_id, known.target_id, identity, "DeleteDisabled",
                      "the job's Delete action is off", steps)
            return False
        target_id = known.target_id or ""
        await self.write("delete", known.kind, known.source_id, known.target_id, identity, [],
                         lambda: self.target.delete(endpoint_of(known.kind), target_id), steps)
        if not self.dry_run:
            self.forget_link(known)
        return True

    # -- failures and escrow ---------------------------------------------------

    def failure(self, kind: ResourceKind, sid: str, target_id: str | None, identity: str,
                exc: Exception, start: float, steps: Sequence[Step] = ()) -> None:
        """Log the failure and put the object in escrow, retried on a growing schedule.

        A 404 for a linked object means it was deleted in the target out of band: Entra's
        ``InvalidAnchor``. The link is forgotten, so the next cycle matches (and if need be
        re-creates) the object instead of failing on it forever (docs/entra.md §2.10).
        """
        code = str(getattr(exc, "code", type(exc).__name__))
        detail = str(getattr(exc, "detail", exc))
        known = self.known.get((kind, sid)) or Known(kind, sid, target_id, None, {}, False)
        duration = int((time.perf_counter() - start) * 1000)
        if isinstance(exc, Rejected) and exc.status == 404 and target_id \
                and known.target_id == target_id:
            reason = (f"the target has no object {target_id} any more (deleted out of band): "
                      "the link is dropped, and the next cycle matches or creates it again")
            self.record(LogEntry(kind, sid, target_id, identity, "provision", "failure",
                                 "InvalidAnchor", reason, duration_ms=duration,
                                 steps=(*steps, step("action", "failure", reason))))
            self.forget_link(known)
            known.attempts, known.retry_after, known.gone_since = 0, None, None
            self.remember(known)
            return
        known.attempts += 1
        wait = min(self.job.escrow_seconds * 2 ** (known.attempts - 1), 86400.0)
        known.retry_after = format_datetime(self.ctx.now + timedelta(seconds=wait))
        reason = f"attempt {known.attempts}: {detail}"
        self.record(LogEntry(kind, sid, target_id, identity, "provision", "failure", code,
                             reason, duration_ms=duration,
                             steps=(*steps, step("action", "failure", f"{code}: {detail}"))))
        self.remember(known)

    async def guarded(self, kind: ResourceKind, sid: str, target_id: str | None,
                      identity: str, action: Callable[[], Awaitable[None]],
                      steps: Sequence[Step] = ()) -> bool:
        """Run ``action``; a refused write is the object's failure (False), not the cycle's.
        Rejected credentials still end the cycle: every other write would fail too."""
        start = time.perf_counter()
        token = _SECRETS.set(set()) if self.redacted else None
        try:
            await action()
        except CredentialsRejected:
            raise
        except (TargetError, EvaluationError) as exc:
            self.failure(kind, sid, target_id, identity, exc, start, steps)
            return False
        finally:
            if token is not None:
                _SECRETS.reset(token)
        return True
