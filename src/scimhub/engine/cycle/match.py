"""Match: find the source object's target object by the matching attributes, or create it.

Entra tries the matching attributes in precedence order and the first that finds an
object wins; nothing found, it creates (docs/entra.md §2.3). A create whose answer is
lost, or that meets 409, is resolved by the client's look-before-write
(``ScimTarget.create_or_find``), never by a blind resend. Whatever is found is linked
only if no other source object is linked to it already: one target object never serves
two source objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scimhub.engine.cycle.provision import Provisioner, endpoint_of, step
from scimhub.engine.cycle.roster import Roster, covered
from scimhub.engine.errors import TargetError
from scimhub.engine.mapping import AttributeMapping, desired_attributes
from scimhub.engine.scimdoc import build_resource, read_value
from scimhub.engine.target.client import Created, ScimTarget
from scimhub.engine.types import Desired
from scimhub.scim.types import Resource
from scimhub.store.provisioning import Known, ResourceKind, Step

DUPLICATE_SOURCE = "DuplicateSourceEntries"


class AlreadyLinked(TargetError):
    """The target object found is linked to another source object: two source objects
    match one target object, so neither may take it from the other."""

    def __init__(self, detail: str) -> None:
        super().__init__(DUPLICATE_SOURCE, detail)


def matching_values(mappings: Sequence[AttributeMapping], desired: Mapping[str, Any]
                    ) -> list[tuple[str, str]]:
    """(target attribute, value) of the matching attributes, in precedence order."""
    matchers = sorted((m for m in mappings if m.match), key=lambda m: m.match or 0)
    return [(m.target, str(value)) for m in matchers if (value := desired.get(m.target))]


async def find(target: ScimTarget, kind: ResourceKind, match: Sequence[tuple[str, str]]
               ) -> tuple[Resource | None, str]:
    """The first target object a matching attribute finds, and the query that found it."""
    for attribute, value in match:
        found = await target.find(endpoint_of(kind), attribute, value)
        if found is not None:
            return found, f"{attribute} eq {value!r}"
    return None, " then ".join(f"{a} eq {v!r}" for a, v in match)


async def match_or_create(prov: Provisioner, kind: ResourceKind, sid: str,
                          source: Mapping[str, Any], identity: str,
                          mappings: Sequence[AttributeMapping], steps: Sequence[Step],
                          roster: Roster | None = None) -> Known | None:
    """Link the object to what the matching attributes find, else create it.

    With a ``roster`` (the target's users listed at the start of the cycle), a user whose
    matching value it covers is matched in memory instead of by a probe (``roster.py`` says
    why that is as safe); a create then still resolves a 409 by lookup and link.
    """
    desired = desired_attributes(mappings, source, prov.ctx, creating=True)
    match = matching_values(mappings, desired)
    if not match:
        prov.skip(kind, sid, None, identity, "ImportSkipped",
                  "The object has no value for any matching attribute", steps)
        return None
    found, query = None, ""
    if roster is not None and kind == "user" and covered(match):
        found, query = await _from_roster(prov.target, roster, match)
    if not query:
        found, query = await find(prov.target, kind, match)
    if found is not None:
        return await _link(prov, kind, sid, found, source, identity, mappings,
                           [*steps, step("match", "matched", f"{query} found {found['id']}")])
    steps = [*steps, step("match", "not matched", f"{query} found nothing")]
    if not prov.job.actions.create:
        prov.skip(kind, sid, None, identity, "CreateDisabled",
                  "not in the target, and the job's Create action is off", steps)
        return None
    return await _create(prov, kind, sid, desired, match, source, identity, mappings, steps)


async def _from_roster(target: ScimTarget, roster: Roster, match: Sequence[tuple[str, str]]
                       ) -> tuple[Resource | None, str]:
    """What the listing says, and why; an empty reason when the probe must decide after all
    (the user listed has gone or been renamed since, so it is looked for afresh)."""
    [(attribute, value)] = match
    target_id = roster.lookup(match)
    if target_id is None:
        return None, (f"{attribute} eq {value!r} in the target's listing of {roster.size} "
                      "users (one created since is linked on 409)")
    found = await target.get("Users", target_id)  # what it holds now, for the update
    if found is None or not roster.holds(found, value):
        return None, ""
    return found, f"{attribute} eq {value!r} in the target's listing"


async def _create(prov: Provisioner, kind: ResourceKind, sid: str, desired: Desired,
                  match: list[tuple[str, str]], source: Mapping[str, Any], identity: str,
                  mappings: Sequence[AttributeMapping], steps: list[Step]) -> Known | None:
    rtype = prov.job.group_type if kind == "group" else prov.job.user_type
    sent = {t: v for t, v in desired.items() if v is not None}
    modified = [prov.change(t, None, v) for t, v in sent.items()]
    created = await prov.write(
        "create", kind, sid, None, identity, modified,
        lambda: prov.target.create_or_find(endpoint_of(kind), build_resource(sent, rtype), match,
                                           link_existing=True), steps)
    if created is None:  # a dry run: linked in memory, so its memberships are planned too
        planned = Known(kind, sid, f"dry-run:{sid}", None, desired, True)
        prov.link(planned)
        return planned
    assert isinstance(created, Created)
    if created.found:  # it appeared since the match: linked, unless another owns it
        return await _link(prov, kind, sid, created.resource, source, identity, mappings,
                           [*steps, step("match", "matched", created.recovered or "")])
    known = Known(kind, sid, str(created.resource["id"]), None, desired, True)
    prov.link(known)
    if kind == "group":
        prov.members_sent[sid] = set()
    return known


async def _link(prov: Provisioner, kind: ResourceKind, sid: str, found: Resource,
                source: Mapping[str, Any], identity: str,
                mappings: Sequence[AttributeMapping], steps: list[Step]) -> Known:
    """Take the found object as this one's, then update what differs."""
    target_id = str(found["id"])
    owner = prov.owner(kind, target_id)
    if owner is not None and owner != sid:
        raise AlreadyLinked(f"the matching attributes found {kind} {target_id}, which is "
                            f"linked to source object {owner} already: two source objects "
                            "match one target object; neither is linked in its place")
    rtype = prov.job.group_type if kind == "group" else prov.job.user_type
    # What the target holds now, at every mapped path: the update sends what differs, and a
    # "none" mapping fills only what is empty there.
    current = {m.target: read_value(found, m.target, rtype) for m in mappings
               if not m.is_reference}
    wanted = desired_attributes(mappings, source, prov.ctx, creating=False, current=current)
    known = Known(kind, sid, target_id, None, current, True)
    prov.link(known)
    if kind == "group":
        prov.members_sent[sid] = set()  # unknown: the delta pass adds what is missing
    await prov.update(kind, known, wanted, identity, steps)
    return known
