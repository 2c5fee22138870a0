"""Which job's state a job file may use: its identity is checked before anything is read.

A job's state (links, escrow, memberships sent, log) belongs to one job row,
found by the job file's name. A file with that name but another target would
act on the first job's links in the wrong place (deleting a user id that exists
only in another tenant, logging another tenant's people), so:

- no row of that name yet: a new job, with a new id and this target;
- the stored target URL differs: refused (``JobTargetChanged``);
- same URL, another token: a rotation (Reset API Token) or another tenant on the
  same server. The target decides: the job's linked objects are read with the new
  token; if none of them is found (404), it is another tenant and the file is
  refused; if one is found, or nothing is linked yet, the new token is recorded.
"""

from __future__ import annotations

import uuid

from scimhub.engine.config import JobConfig
from scimhub.engine.errors import JobTargetChanged as JobTargetChanged  # re-exported
from scimhub.engine.target.client import ScimTarget
from scimhub.security import token_digest
from scimhub.store.provisioning import EngineState

#: How many linked objects a token rotation is checked against: one deleted behind the
#: engine's back must not make a genuine rotation look like another tenant.
PROBES = 3


def same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


async def claim_job(state: EngineState, job: JobConfig, target: ScimTarget, *,
                    record: bool = True) -> str:
    """The id of the job this file may run as, after checking its target.

    ``record=False`` (a dry run) checks the same way but writes nothing: a job that does
    not exist yet gets a throwaway id, whose state is empty.
    """
    digest = token_digest(job.target.token)
    found = state.job(job.name)
    if found is None:
        if not record:
            return str(uuid.uuid4())
        found = state.ensure_job(job.name, job.target.url, digest)
        if found.target_url is None or (same_url(found.target_url, job.target.url)
                                        and found.token_digest == digest):
            return found.id  # ours, or created meanwhile by a run of the same file
    if found.target_url is None:  # created by 'job stop' or 'job start' before it ever ran
        if record:
            state.record_target(found.id, job.target.url, digest)
        return found.id
    if not same_url(found.target_url, job.target.url):
        raise JobTargetChanged(
            f"job {job.name!r} provisions {found.target_url}, but this job file points at "
            f"{job.target.url}; its links, escrow and log belong to the first target. Give "
            f"this job its own [job] name (a new job starts with no state), or, if the "
            f"target really moved, 'scimhub job reset {job.name} --yes' to forget what the "
            f"job knows and re-match every object")
    if found.token_digest == digest:
        return found.id
    linked = state.linked(found.id, PROBES)
    for kind, target_id in linked:
        if await target.get("Groups" if kind == "group" else "Users", target_id) is not None:
            break
    else:
        if linked:
            raise JobTargetChanged(
                f"job {job.name!r} has another token than its last cycle at "
                f"{job.target.url}, and none of the objects it provisioned there is visible "
                f"with it: the token belongs to another tenant. Give this job its own [job] "
                f"name, or, if the job's objects were deleted from the target, 'scimhub job "
                f"reset {job.name} --yes' to forget them")
    if record:
        state.record_target(found.id, job.target.url, digest)
    return found.id
