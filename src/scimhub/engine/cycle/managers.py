"""Managers: ``manager`` holds the manager's target id, known once both users are linked.

So it is sent after every user, as an update of its own (docs/entra.md §1.4.6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scimhub.engine.cycle.memberships import member_target
from scimhub.engine.cycle.provision import Provisioner
from scimhub.engine.mapping import AttributeMapping
from scimhub.scim.types import PatchOperationBody
from scimhub.store.provisioning import Known

Work = tuple[Known, str | None, str]


def plan(prov: Provisioner, mapping: AttributeMapping,
         users: Mapping[str, Mapping[str, Any]]) -> list[Work]:
    """(user, the manager's target id or None, identity) for each manager that changed."""
    work = []
    for uid, obj in users.items():
        known = prov.known.get(("user", uid))
        if known is None or not known.target_id or not known.in_scope:
            continue
        manager_source = mapping.value(obj, prov.ctx)
        wanted = member_target(prov, str(manager_source)) if manager_source else None
        if wanted != known.sent.get(mapping.target):
            work.append((known, wanted, str(obj.get("userPrincipalName") or uid)))
    return work


async def send(prov: Provisioner, mapping: AttributeMapping, item: Work) -> None:
    known, wanted, identity = item
    op: PatchOperationBody = (
        {"op": "replace", "path": mapping.target, "value": {"value": wanted}}
        if wanted else {"op": "remove", "path": mapping.target})
    target_id = known.target_id or ""

    async def patch() -> None:
        await prov.write("update", "user", known.source_id, known.target_id, identity,
                         [prov.change(mapping.target, known.sent.get(mapping.target), wanted)],
                         lambda: prov.target.patch("Users", target_id, [op]))

    if await prov.guarded("user", known.source_id, known.target_id, identity, patch) \
            and not prov.dry_run:
        known.sent = {**known.sent, mapping.target: wanted}
        prov.remember(known)
