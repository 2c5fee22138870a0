"""Plan: who is in scope, what changed since the last cycle, and the deletion guard.

Entra's "Determine if the object is in scope" step, and the change detection of its
incremental cycles (docs/entra.md §2.1, §2.2): an object whose source hash (its
attributes and whether it is in scope) is the one saved last time is not looked at
again, so a cycle with no change sends nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from scimhub.engine.config import JobConfig
from scimhub.engine.errors import DeletionThresholdExceeded
from scimhub.engine.expressions import IGNORE_FLOW, EvaluationContext
from scimhub.engine.mapping import AttributeMapping
from scimhub.engine.scoping import ScopingFilter, explain, in_scope
from scimhub.engine.sources.directory import Directory
from scimhub.engine.types import SourceObject
from scimhub.store.provisioning import Known, ResourceKind

Source = SourceObject

__all__ = ["DeletionThresholdExceeded", "Scope", "Work", "changed", "deprovisions", "duplicates",
           "group_attributes", "in_escrow", "managed", "removal_due", "source_hash", "work"]


def source_hash(obj: Mapping[str, Any], scoped: bool) -> str:
    """What decides whether an object is looked at again: its attributes and its scope."""
    return hashlib.sha256(orjson.dumps([obj, scoped], option=orjson.OPT_SORT_KEYS)).hexdigest()


def group_attributes(group: Mapping[str, Any]) -> Source:
    """A group without its members: they are sent as deltas, not as an attribute."""
    return {k: v for k, v in group.items() if k != "members"}


def failing_clauses(filters: Sequence[ScopingFilter], obj: Mapping[str, Any]) -> list[str]:
    return [line.removesuffix(": false") for line in explain(filters, obj)
            if line.endswith(": false")]


class Scope:
    """Who is in scope this cycle: computed once per cycle, and the one place that decides.

    A user is in scope when assigned (directly or through an assigned group; everyone with
    ``mode = "all"``) and when the scoping filters pass; a group when assigned (or ``all``)
    and when ``group_filters`` pass (docs/entra.md §2.2, §2.4). Whether a user is enabled
    is not scope: a disabled user in scope is disabled in the target, if it is there.
    """

    def __init__(self, job: JobConfig, directory: Directory) -> None:
        self.job = job
        self.assigned: set[str] | None = (directory.assigned_users()
                                          if job.scope_mode == "assigned" else None)

    def user(self, uid: str, obj: Mapping[str, Any]) -> bool:
        return ((self.assigned is None or uid in self.assigned)
                and in_scope(self.job.scoping, obj))

    def group(self, obj: Mapping[str, Any]) -> bool:
        return ((self.job.scope_mode == "all" or obj.get("assigned") is True)
                and in_scope(self.job.group_scoping, obj))

    def explain_user(self, uid: str, obj: Mapping[str, Any]) -> list[str]:
        """Each rule with its outcome, as provision on demand shows them."""
        return [f"Assigned to application: {uid in self.assigned}" if self.assigned is not None
                else "Scope sync all: True",
                f"Active in source system: {obj.get('accountEnabled', True) is not False}",
                *explain(self.job.scoping, obj)]

    def why_not_user(self, uid: str, obj: Mapping[str, Any]) -> str:
        if self.assigned is not None and uid not in self.assigned:
            return "out of scope: not assigned to the application (directly or by a group)"
        return "out of scope: scoping filter clause false: " + "; ".join(
            failing_clauses(self.job.scoping, obj))

    def why_not_group(self, obj: Mapping[str, Any]) -> str:
        if self.job.scope_mode != "all" and obj.get("assigned") is not True:
            return "out of scope: not assigned to the application"
        return "out of scope: scoping filter clause false: " + "; ".join(
            failing_clauses(self.job.group_scoping, obj))


@dataclass(frozen=True, slots=True)
class Work:
    """One object whose source changed (or that was never seen): it goes through the steps."""

    source_id: str
    obj: Source
    scoped: bool
    digest: str


def work(kind: ResourceKind, sid: str, raw: Source, scope: Scope) -> Work:
    """One object as the cycle looks at it: its attributes, whether in scope, its hash."""
    obj = raw if kind == "user" else group_attributes(raw)
    scoped = scope.user(sid, obj) if kind == "user" else scope.group(obj)
    return Work(sid, obj, scoped, source_hash(obj, scoped))


def changed(kind: ResourceKind, objects: Mapping[str, Source], scope: Scope,
            known: Mapping[tuple[str, str], Known], now: str) -> list[str]:
    """The ids of the objects to look at this cycle; an object in escrow waits for its retry
    time. Only the ids: each object is read again (``work``) when its turn comes, so an
    initial cycle of a million users never holds them all parsed at once."""
    ids = []
    for sid, raw in objects.items():
        item = work(kind, sid, raw, scope)
        seen = known.get((kind, sid))
        if seen is not None and (seen.source_hash == item.digest or in_escrow(seen, now)):
            continue
        ids.append(sid)
    return ids


def in_escrow(known: Known, now: str) -> bool:
    """A failed object waits until its next retry is due (docs/entra.md §2.7)."""
    return known.retry_after is not None and known.retry_after > now


def managed(known: Known) -> bool:
    """Linked and in scope: the objects the engine may still disable or delete."""
    return bool(known.target_id) and known.in_scope


def matching_key(mappings: Sequence[AttributeMapping], obj: Mapping[str, Any],
                 ctx: EvaluationContext) -> list[tuple[str, str]]:
    """(target attribute, value) for each matching attribute with a value, case-folded."""
    keys = []
    for m in mappings:
        if not m.match:
            continue
        value = m.value(obj, ctx)
        if value is None or value == "" or value is IGNORE_FLOW:
            continue
        keys.append((m.target.lower(), str(value).lower()))
    return keys


def duplicates(mappings: Sequence[AttributeMapping], objects: Iterable[tuple[str, Source]],
               ctx: EvaluationContext) -> set[str]:
    """Source ids that share a matching value with another source object in scope.

    Entra reports them as ``DuplicateSourceEntries`` and skips them (docs/entra.md §2.3):
    neither is created or linked while they collide, so one target object never serves two
    source objects. (One that is linked already keeps its link: the cycle checks that.)
    """
    # Keyed by a 128-bit digest of (attribute, value), not by the pair: a million users'
    # keys held as tuples of strings took a few hundred MB at the start of an initial cycle.
    seen: dict[bytes, str] = {}
    dupes: set[str] = set()
    for sid, obj in objects:
        for attribute, value in matching_key(mappings, obj, ctx):
            key = hashlib.blake2b(f"{attribute}\0{value}".encode(), digest_size=16).digest()
            first = seen.setdefault(key, sid)
            if first != sid:
                dupes.update((first, sid))
    return dupes


def removal_due(known: Known, job: JobConfig, now_epoch: float) -> bool:
    """A removed object's hard delete is due: ``delete_after`` passed since its soft delete."""
    if job.actions.delete_after_seconds <= 0:
        return True
    if known.gone_since is None:
        return False
    return datetime.fromisoformat(known.gone_since).timestamp() + job.actions.delete_after_seconds \
        <= now_epoch


def deprovisions(job: JobConfig, directory: Directory, scope: Scope,
                 known: Mapping[tuple[str, str], Known], now_epoch: float) -> list[Known]:
    """The managed objects this cycle would disable or delete (Entra counts both)."""
    doomed = []
    for (kind, sid), k in known.items():
        if not managed(k):
            continue
        if kind == "user":
            obj = directory.users.get(sid)
            if obj is None:
                if k.gone_since is None or (job.actions.removed == "delete"
                                            and removal_due(k, job, now_epoch)):
                    doomed.append(k)
            elif not scope.user(sid, obj) and not job.actions.skip_out_of_scope_deletions:
                doomed.append(k)
        else:
            group = directory.groups.get(sid)
            if group is None or (not scope.group(group)
                                 and not job.actions.skip_out_of_scope_deletions):
                doomed.append(k)
    return doomed
