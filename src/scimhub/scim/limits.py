"""Limits the server advertises in ServiceProviderConfig and enforces.

They exist so that one request cannot occupy the server for everybody else
(many tenants share one process): each bounds either what a resource may hold
or how much work one request may cause, and every one is refused with a SCIM
error rather than worked through.

* ``max_values_per_attribute`` (100): values of one multi-valued attribute of a
  resource (a User's ``emails``, ``phoneNumbers``, ``addresses``, ``ims``,
  ``photos``, ``entitlements``, ``roles``, ``x509Certificates``). Entra sends one
  value per ``type`` it maps (work/home/other e-mail, a handful of phone types),
  so real users hold a few; 100 leaves a wide margin for other clients while
  keeping every per-value loop (value filters, de-duplication, rendering)
  small. Group ``members`` are not limited this way: they live in their own
  table and a group of 100,000 members is supported.
* ``max_patch_operations`` (1,000): kept, because what an operation costs is
  bounded separately (``max_patch_work``) and clients that send one operation
  per member (1,000 member additions are 1,000 index writes) keep working.
* ``max_patch_work`` (10,000): the values one PATCH may visit in the document,
  summed over its operations; an operation on a multi-valued attribute visits
  the values it holds plus those it sends, any other visits one. 10,000 is a
  hundred passes over a full attribute: tens of milliseconds of CPU.
* ``max_query_seconds`` (10): a database read of one SCIM request (a filter
  that cannot use an index, a sort) that runs longer is interrupted and the
  request is answered ``400 tooMany``: the filter asks for more than the server
  will compute. Writes are bounded by the limits above instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scimhub.scim.errors import InvalidValue
from scimhub.scim.schema import Attribute, ResourceType

#: Multi-valued attributes the value limit does not apply to (kept outside the document).
UNLIMITED = frozenset({"members"})


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_048_576
    max_results: int = 1000
    default_count: int = 100
    max_filter_length: int = 4096
    max_filter_depth: int = 32
    max_patch_operations: int = 1000
    max_bulk_operations: int = 1000
    max_values_per_attribute: int = 100
    max_patch_work: int = 10_000
    max_query_seconds: float = 10.0


DEFAULT_LIMITS = Limits()


def limited_attributes(rtype: ResourceType) -> list[tuple[str | None, Attribute]]:
    """Every multi-valued attribute of ``rtype`` the value limit applies to, with the
    extension URN that holds it (None: the core schema)."""
    return [(c, a) for c, a in rtype.multi_valued_attributes if a.name not in UNLIMITED]


def value_counts(doc: Mapping[str, Any], rtype: ResourceType) -> dict[str, int]:
    """How many values each limited multi-valued attribute of ``doc`` holds."""
    counts: dict[str, int] = {}
    for container, attr in limited_attributes(rtype):
        holder = doc if container is None else doc.get(container)
        # dict first: an ABC check per attribute was a tenth of a PATCH's work here.
        value = holder.get(attr.name) if isinstance(holder, (dict, Mapping)) else None
        if isinstance(value, list):
            counts[attr.name if container is None else f"{container}:{attr.name}"] = len(value)
    return counts


def check_values(doc: Mapping[str, Any], rtype: ResourceType, max_values: int,
                 before: Mapping[str, int] | None = None) -> None:
    """Refuse a resource with more than ``max_values`` values in one attribute.

    ``before`` (the counts of the stored resource, on PATCH) lets a resource
    stored before the limit existed shrink towards it: only growth past the
    limit is refused, so a client can still clean it up.
    """
    for name, count in value_counts(doc, rtype).items():
        if count > max_values and count > (before or {}).get(name, 0):
            raise InvalidValue(
                f"'{name}' may hold at most {max_values} values, not {count}")
