"""Memberships: group members as add/remove deltas against what was last sent.

Members go after users and groups, in PATCHes of at most 100 (docs/entra.md §1.6).
What was sent is saved per group, so an incremental cycle sends only the difference.
A user deleted by the engine is first removed from every group it was sent to: some
targets (scim2-server) keep a deleted user's memberships as dangling references.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from scimhub.engine.cycle.provision import Provisioner
from scimhub.engine.errors import CredentialsRejected, TargetError
from scimhub.scim.types import PatchOperationBody
from scimhub.store.provisioning import Known, Modified

BATCH = 100
Verb = Literal["add", "remove"]


def member_target(prov: Provisioner, source_id: str) -> str | None:
    """The target id of a user that may be a member: linked and in scope."""
    known = prov.known.get(("user", source_id))
    if known is None or not known.in_scope or not known.target_id:
        return None
    return known.target_id


def plan(prov: Provisioner, groups: Mapping[str, Mapping[str, Any]]
         ) -> list[tuple[Known, str, list[str], list[str]]]:
    """For each managed group: (group, identity, source ids to add, source ids to remove)."""
    plans = []
    for gid, obj in groups.items():
        known = prov.known.get(("group", gid))
        if known is None or not known.target_id or not known.in_scope:
            continue
        desired = {m for m in obj.get("members", []) if member_target(prov, m)}
        sent = prov.members_sent.get(gid, set())
        add, remove = sorted(desired - sent), sorted(sent - desired)
        if add or remove:
            plans.append((known, str(obj.get("displayName") or gid), add, remove))
    return plans


async def send(prov: Provisioner, group: Known, identity: str, add: list[str],
               remove: list[str]) -> None:
    for i in range(0, len(add), BATCH):
        chunk = add[i:i + BATCH]
        ids = [t for m in chunk if (t := member_target(prov, m))]
        await _write(prov, group, identity, "add", chunk, ids)
    for i in range(0, len(remove), BATCH):
        chunk = remove[i:i + BATCH]
        ids = [k.target_id for m in chunk if (k := prov.known.get(("user", m)))
               and k.target_id]
        await _write(prov, group, identity, "remove", chunk, ids)


async def withdraw(prov: Provisioner, user: Known) -> None:
    """Remove a user about to be deleted from every group it was sent to."""
    for gid, sent in list(prov.members_sent.items()):
        group = prov.known.get(("group", gid))
        if user.source_id in sent and group is not None and group.target_id:
            await _write(prov, group, str(group.sent.get("displayName") or gid), "remove",
                         [user.source_id], [user.target_id] if user.target_id else [])


async def _write(prov: Provisioner, group: Known, identity: str, verb: Verb, chunk: list[str],
                 ids: list[str]) -> None:
    target_id = group.target_id or ""
    start = time.perf_counter()
    modified: list[Modified] = [{"attribute": "members", "old": None if verb == "add" else i,
                 "new": i if verb == "add" else None} for i in ids]
    try:
        if ids and verb == "add":  # not idempotent on every target: see add_members
            await prov.write("update", "group", group.source_id, target_id, identity,
                             modified, lambda: prov.target.add_members(target_id, ids))
        elif ids:
            ops: list[PatchOperationBody] = [
                {"op": "remove", "path": f'members[value eq "{t}"]'} for t in ids]
            await prov.write("update", "group", group.source_id, target_id, identity,
                             modified, lambda: prov.target.patch("Groups", target_id, ops))
    except CredentialsRejected:
        raise
    except TargetError as exc:
        prov.failure("group", group.source_id, target_id, identity, exc, start)
        return
    if prov.dry_run:
        return
    sent = prov.members_sent.setdefault(group.source_id, set())
    if verb == "add":
        sent.update(chunk)
        prov.state.record_members(prov.key, group.source_id, chunk, [])
    else:
        sent.difference_update(chunk)
        prov.state.record_members(prov.key, group.source_id, [], chunk)
