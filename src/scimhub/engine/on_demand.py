"""Provision on demand: one user through every step now, with what each step decided.

The steps are Entra's (docs/entra.md §2.8): test connection, import, scope, match,
perform action. The user goes through the same code as in a cycle, so what
on-demand shows is what the next cycle would do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scimhub.engine.config import JobConfig
from scimhub.engine.cycle.cycle import Cycle, source_hash
from scimhub.engine.errors import TargetError
from scimhub.engine.identity import claim_job
from scimhub.engine.scoping import explain, in_scope
from scimhub.engine.sources.directory import Directory
from scimhub.engine.sources.file import load_file
from scimhub.engine.target.client import ScimTarget
from scimhub.security import token_digest
from scimhub.store.database import Database
from scimhub.store.provisioning import ON_DEMAND, EngineState


@dataclass
class OnDemandReport:
    user: str
    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, name: str, ok: bool, detail: str, **extra: Any) -> None:
        self.steps.append({"step": name, "ok": ok, "detail": detail, **extra})

    @property
    def ok(self) -> bool:
        return all(s["ok"] for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"user": self.user, "ok": self.ok, "steps": self.steps}


async def provision_user(job: JobConfig, db: Database, object_id: str) -> OnDemandReport:
    report = OnDemandReport(object_id)
    directory = load_file(job.source.path)
    state = EngineState(db)
    async with ScimTarget(job.target.url, job.target.token,
                          concurrency=job.target.concurrency, timeout=job.target.timeout) as target:
        try:
            await target.probe(("Users",))
        except TargetError as exc:
            report.step("Test connection", False, f"{exc.code}: {exc.detail}")
            return report
        report.step("Test connection", True, "the target answered the probe")
        job_id = await claim_job(state, job, target)
        # A cycle of its own, so that its log entries carry the token they were written
        # with (the console shows each tenant the entries of its own tokens only).
        cycle_id = state.start_cycle(job_id, ON_DEMAND, job.fingerprint, job.target.url,
                                     token_digest(job.target.token))
        try:
            await _one(job, job_id, cycle_id, state, target, directory, object_id, report)
        finally:
            state.finish_cycle(cycle_id, {"on_demand": object_id, "ok": report.ok})
    return report


async def _one(job: JobConfig, job_id: str, cycle_id: str, state: EngineState,
               target: ScimTarget, directory: Directory, object_id: str,
               report: OnDemandReport) -> None:
    if object_id in directory.groups:
        await _group(job, job_id, cycle_id, state, target, directory, object_id, report)
        return
    obj = directory.users.get(object_id)
    if obj is None:
        report.step("Import user", False, f"no user with objectId {object_id} in the source")
        return
    report.step("Import user", True, str(obj.get("userPrincipalName") or object_id),
                attributes=obj)
    assigned = (directory.assigned_users() if job.scope_mode == "assigned"
                else set(directory.users))
    scoped = object_id in assigned and in_scope(job.scoping, obj)
    reasons = [f"Assigned to application: {object_id in assigned}"
               if job.scope_mode == "assigned" else "Scope sync all: True",
               f"Active in source system: {obj.get('accountEnabled', True) is not False}",
               *explain(job.scoping, obj)]
    report.step("Determine if user is in scope", True, "in scope" if scoped else
                "out of scope", details=reasons)
    cycle = Cycle(job, state, target, directory, job_id=job_id)
    cycle.summary.cycle_id = cycle_id
    cycle.known = state.load_objects(job_id)
    known = cycle.known.get(("user", object_id))
    if known is not None and known.target_id:
        report.step("Match user between source and target", True,
                    f"already linked to target id {known.target_id}")
    else:
        report.step("Match user between source and target", True,
                    "not linked yet: queried by the matching attributes in order")
    await cycle._user(object_id, obj, scoped, source_hash(obj, scoped))
    _perform_action(report, cycle, name_objects=False)


def _perform_action(report: OnDemandReport, cycle: Cycle, name_objects: bool) -> None:
    """The last step: what the cycle wrote (now saved), or that nothing needed writing."""
    entries = list(cycle.log)
    cycle._flush()
    if not entries:
        report.step("Perform action", True, "skip: the target already has these values")
    for entry in entries:
        who = f"{entry.kind} {entry.identity}: " if name_objects else ""
        report.step("Perform action", entry.status != "failure",
                    f"{who}{entry.action} ({entry.status})"
                    + (f": {entry.error_code}: {entry.detail}" if entry.error_code else ""),
                    target_id=entry.target_id, modified=entry.modified or [])


MAX_GROUP_MEMBERS = 5


async def _group(job: JobConfig, job_id: str, cycle_id: str, state: EngineState,
                 target: ScimTarget, directory: Directory, group_id: str,
                 report: OnDemandReport) -> None:
    """A group of at most five members: the members, then the group, then its memberships."""
    group = directory.groups[group_id]
    members = [m for m in group.get("members", []) if m in directory.users]
    if len(members) > MAX_GROUP_MEMBERS:
        report.step("Import group", False, f"{len(members)} members: provision on demand takes "
                    f"groups of at most {MAX_GROUP_MEMBERS} members (as Entra's does)")
        return
    report.step("Import group", True, str(group.get("displayName") or group_id),
                members=members)
    cycle = Cycle(job, state, target, Directory(directory.users, {group_id: group}),
                  job_id=job_id)
    cycle.summary.cycle_id = cycle_id
    cycle.known = state.load_objects(job_id)
    cycle.members_sent = state.load_members(job_id)
    assigned = (directory.assigned_users() if job.scope_mode == "assigned"
                else set(directory.users))
    for uid in members:
        obj = directory.users[uid]
        scoped = uid in assigned and in_scope(job.scoping, obj)
        await cycle._user(uid, obj, scoped, source_hash(obj, scoped))
    scoped = cycle._group_in_scope(group)
    report.step("Determine if group is in scope", True, "in scope" if scoped else "out of scope")
    plain = {k: v for k, v in group.items() if k != "members"}
    if scoped:
        await cycle._provision(
            "group", group_id, plain, str(group.get("displayName") or group_id),
            source_hash(plain, scoped), cycle.known.get(("group", group_id)),
            job.group_mappings, "Groups")
        await cycle._memberships()
    _perform_action(report, cycle, name_objects=True)
