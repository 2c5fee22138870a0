"""Provision on demand: one user through every step now, with what each step decided.

The steps are Entra's (docs/entra.md §2.8): test connection, import, scope, match,
perform action. The user goes through the cycle's own public steps
(:meth:`Cycle.provision_user` and the rest), so what on-demand shows is what the next
cycle would do. Values read through ``Redact()`` are shown as ``[Redact]``.

The import reads as a cycle does (engine/source_mirror.py), but saves nothing: with a source
the engine mirrors (LDAP, SCIM), a job that ran before reads only what changed since its
watermark (the object asked for comes in the delta if it changed; the mirror has it
otherwise) and the next cycle reads the same changes again, as Entra's on-demand leaves the
cycle's watermark alone. A job that never ran has no mirror: that reads the whole directory
once. The file source is read whole, as always.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scimhub.engine.config import JobConfig
from scimhub.engine.cycle.cycle import Cycle
from scimhub.engine.cycle.plan import Scope
from scimhub.engine.cycle.provision import hide, redacted_sources
from scimhub.engine.errors import SchemaMismatch, TargetError
from scimhub.engine.identity import claim_job
from scimhub.engine.source_mirror import read_source
from scimhub.engine.sources.directory import Directory
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.target.schema import bind_job
from scimhub.engine.types import Report
from scimhub.security import token_digest
from scimhub.store.database import Database
from scimhub.store.provisioning import ON_DEMAND, EngineState, LogEntry


@dataclass
class OnDemandReport:
    user: str
    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, name: str, ok: bool, detail: str, **extra: Any) -> None:
        self.steps.append({"step": name, "ok": ok, "detail": detail, **extra})

    @property
    def ok(self) -> bool:
        return all(s["ok"] for s in self.steps)

    def to_dict(self) -> Report:
        return {"user": self.user, "ok": self.ok, "steps": self.steps}


async def provision_user(job: JobConfig, db: Database, object_id: str) -> OnDemandReport:
    report = OnDemandReport(object_id)
    state = EngineState(db)
    async with ScimTarget(job.target.url, job.target.token,
                          concurrency=job.target.concurrency, timeout=job.target.timeout,
                          rate=job.target.rate) as target:
        try:
            await target.probe(("Users",))
        except TargetError as exc:
            report.step("Test connection", False, f"{exc.code}: {exc.detail}")
            return report
        report.step("Test connection", True, "the target answered the probe")
        job_id = await claim_job(state, job, target)
        try:  # the target's schema: mappings checked, values typed (docs/entra.md §1.12.1)
            job = await bind_job(job, target)
        except SchemaMismatch as exc:
            report.step("Target schema", False, "; ".join(exc.problems))
            return report
        directory = (await read_source(job.source, state, job_id, initial=False)).directory
        # A cycle of its own, so that its log entries carry the token they were written
        # with (the console shows each tenant the entries of its own tokens only).
        cycle_id = state.start_cycle(job_id, ON_DEMAND, job.fingerprint, job.target.url,
                                     token_digest(job.target.token))
        try:
            if object_id in directory.groups:
                await _group(job, job_id, cycle_id, state, target, directory, object_id,
                             report)
            else:
                await _user(job, job_id, cycle_id, state, target, directory, object_id,
                            report)
        finally:
            state.finish_cycle(cycle_id, {"on_demand": object_id, "ok": report.ok})
    return report


async def _user(job: JobConfig, job_id: str, cycle_id: str, state: EngineState,
                target: ScimTarget, directory: Directory, object_id: str,
                report: OnDemandReport) -> None:
    obj = directory.users.get(object_id)
    if obj is None:
        report.step("Import user", False, f"no user with objectId {object_id} in the source")
        return
    report.step("Import user", True, str(obj.get("userPrincipalName") or object_id),
                attributes=hide(obj, redacted_sources(job.user_mappings)))
    cycle = Cycle(job, state, target, directory, job_id=job_id, cycle_id=cycle_id)
    scoped = cycle.scope.user(object_id, obj)
    report.step("Determine if user is in scope", True, "in scope" if scoped else
                "out of scope", details=cycle.scope.explain_user(object_id, obj))
    cycle.load()
    linked = cycle.linked("user", object_id)
    report.step("Match user between source and target", True,
                f"already linked to target id {linked}" if linked else
                "not linked yet: queried by the matching attributes in order")
    await cycle.provision_user(object_id)
    _perform_action(report, cycle.flush(), name_objects=False)


def _perform_action(report: OnDemandReport, entries: list[LogEntry], name_objects: bool
                    ) -> None:
    """The last step: what the cycle wrote (now saved), or that nothing needed writing."""
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
                  job_id=job_id, cycle_id=cycle_id)
    cycle.scope = Scope(job, directory)  # assigned through any group, not only this one
    cycle.load()
    for uid in members:
        await cycle.provision_user(uid)
    scoped = cycle.scope.group(group)
    report.step("Determine if group is in scope", True, "in scope" if scoped else "out of scope")
    if scoped:
        await cycle.provision_group(group_id)
        await cycle.memberships()
    _perform_action(report, cycle.flush(), name_objects=True)
