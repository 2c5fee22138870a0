"""The target's users by matching value, read once: matching without a probe per user.

Entra asks the target before every create (``userName eq "…"``, docs/entra.md §2.3): on an
initial cycle of 100,000 users that is 100,000 GETs before the 100,000 POSTs. When most users
in scope are unlinked, the cycle reads instead one paged listing of the target's users holding
only ``id`` and the matching attribute (``ScimTarget.list_attributes``), and matches in memory.

Why it is as safe as the probe. The listing is a snapshot, and a user created by another
writer after it was read is not in it; but the listing is used only when the one matching
attribute is ``userName``, which the target keeps unique (RFC 7643 §4.1.1): a create that
meets such a user is answered 409, and ``ScimTarget.create_or_find`` then looks it up and
links it (``link_existing``), as it does for a user that appears between Entra's probe and its
create. So the window in which a second writer's user could be duplicated is the one the probe
has, closed by the same 409. A matching attribute the target need not keep unique (a group's
``displayName``, ``externalId``) would have no 409 to close a window as long as the cycle:
for those the probe stays. A user the listing finds is fetched by id before it is linked (the
update needs what the target holds now), and linked only if no other source user owns it.

Values are compared as the target compares them: ``userName`` has ``caseExact`` false, so both
sides are case-folded, as scimhub's store folds them for ``eq``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scimhub.engine.errors import CredentialsRejected, DuplicateTargetEntries, TargetError
from scimhub.engine.target.client import ScimTarget

log = logging.getLogger(__name__)

#: Matching attributes a target keeps unique (so a create meeting one is refused with 409)
#: and compares without case (``caseExact`` false): the only ones the listing stands in for.
UNIQUE_FOLDED = frozenset({"username"})
#: An initial cycle (or any with this many unlinked users in scope) reads the listing...
MANY_UNLINKED = 1000
#: ...and so does one where most users in scope are unlinked, once there are at least this
#: many: below it, one probe per user costs no more than the listing.
FEW = 2


def wants_listing(unlinked: int, in_scope: int) -> bool:
    """Whether reading the target's users once is cheaper than one probe per unlinked user."""
    return unlinked >= MANY_UNLINKED or (unlinked >= FEW and 2 * unlinked > in_scope)


def covered(match: Sequence[tuple[str, str]]) -> bool:
    """The listing decides for these matching values: one attribute, unique on the target."""
    return len(match) == 1 and match[0][0].lower() in UNIQUE_FOLDED


@dataclass
class Roster:
    """The target's user ids by case-folded ``userName``, as listed at the start of the cycle."""

    attribute: str
    ids: dict[str, list[str]] = field(default_factory=dict)
    #: How many users the listing held (the log's steps say it).
    size: int = 0

    def add(self, value: str, target_id: str) -> None:
        self.ids.setdefault(value.casefold(), []).append(target_id)
        self.size += 1

    def holds(self, resource: Mapping[str, Any], value: str) -> bool:
        """Whether a user read since still has the matching value (it may have been renamed
        after the listing; then the probe decides)."""
        now = resource.get(self.attribute)
        return isinstance(now, str) and now.casefold() == value.casefold()

    def lookup(self, match: Sequence[tuple[str, str]]) -> str | None:
        """The target id the listing holds for the (covered) matching value, or None."""
        [(attribute, value)] = match
        found = self.ids.get(value.casefold(), [])
        if len(found) > 1:  # what the probe would raise for the same two objects
            raise DuplicateTargetEntries(
                f"{len(found)} Users have {attribute} {value!r} in the target's listing")
        return found[0] if found else None


async def read_roster(target: ScimTarget, attribute: str,
                      on_page: Callable[[int, int], None] | None = None) -> Roster | None:
    """The listing, or None (logged once) when the target will not give a whole one: the
    cycle then probes per user, as Entra does. Rejected credentials are not a refusal of the
    listing: they end the cycle as they would on the first probe."""
    try:
        listed = await target.list_attributes("Users", [attribute], on_page=on_page)
    except CredentialsRejected as exc:
        if exc.status != 403:
            raise
        why = f"{exc.code}: {exc.detail}"
    except TargetError as exc:
        why = f"{exc.code}: {exc.detail}"
    else:
        roster = Roster(attribute)
        for resource in listed:
            value = resource.get(attribute)
            if value is None:
                value = next((v for k, v in resource.items() if k.lower() == attribute.lower()),
                             None)
            if not isinstance(value, str):
                why = (f"user {resource['id']} came without a string {attribute}: the target "
                       "did not list the attribute asked for")
                break
            roster.add(value, str(resource["id"]))
        else:
            log.info("matching by listing: %d target users read in one listing", roster.size)
            return roster
    log.warning("matching by listing is off for this cycle, one probe per user instead: "
                "the target's user listing was refused or incomplete (%s)", why)
    return None
