"""Rendering a stored resource as the SCIM document a client receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scimhub.scim.schema import Attribute, ResourceType
from scimhub.scim.types import Complex, Resource


@dataclass(frozen=True)
class Reference:
    """A member of a group, or a group of a user, as read from the membership table."""

    id: str
    type: str
    display: str | None


@dataclass(frozen=True)
class StoredResource:
    """A resource as storage holds it; ``references`` (members of a group, groups of a
    user) are None unless they were read with it."""

    id: str
    version: int
    created: str
    last_modified: str
    doc: Mapping[str, Any]
    references: tuple[Reference, ...] | None = None


def etag(version: int) -> str:
    return f'W/"{version}"'


def render(stored: StoredResource, rtype: ResourceType, base_url: str) -> Resource:
    """References are members for a Group, groups for a User; unread ones are left out."""
    doc: Resource = {
        "schemas": [rtype.schema.id, *(e.id for e in rtype.extensions if stored.doc.get(e.id))],
        "id": stored.id,
    }
    doc.update(stored.doc)
    for urn, decimals in _extension_decimals(rtype):
        if isinstance(block := doc.get(urn), dict):
            doc[urn] = _as_decimals(block, decimals)
    references = stored.references
    if references is not None:
        key = "members" if rtype.name == "Group" else "groups"
        items = [reference_item(ref, base_url, key) for ref in references]
        if items or key == "members":
            doc[key] = items
    doc["meta"] = {
        "resourceType": rtype.name,
        "created": stored.created,
        "lastModified": stored.last_modified,
        "location": f"{base_url}{rtype.endpoint}/{stored.id}",
        "version": etag(stored.version),
    }
    return doc


@lru_cache(maxsize=256)
def _extension_decimals(rtype: ResourceType) -> tuple[tuple[str, tuple[Attribute, ...]], ...]:
    """The extensions of ``rtype`` that have decimal attributes (at any depth), with them."""
    found = []
    for ext in rtype.extensions:
        if any(a.type == "decimal" or any(s.type == "decimal" for s in a.sub_attributes)
               for a in ext.attributes):
            found.append((ext.id, ext.attributes))
    return tuple(found)


def _as_decimals(block: Mapping[str, Any], attributes: tuple[Attribute, ...]) -> Complex:
    """Decimal values as JSON numbers with a fraction, as they were sent.

    PostgreSQL's JSONB keeps numbers as ``numeric``, and hands an integral one back without
    its exponent: ``3.602879701896397e+16`` comes back as ``36028797018963970``, which reads
    as an integer that is not the double that was stored. A decimal is a double (RFC 7643
    §2.3.3), so it is returned as one, on both databases alike.
    """
    by_name = {a.name.lower(): a for a in attributes}
    out: Complex = {}
    for key, value in block.items():
        attr = by_name.get(key.lower())
        if attr is None:
            out[key] = value
        elif attr.type == "decimal":
            out[key] = _float(value)
        elif attr.sub_attributes and any(s.type == "decimal" for s in attr.sub_attributes):
            items = value if isinstance(value, list) else [value]
            done = [_as_decimals(v, attr.sub_attributes) if isinstance(v, Mapping) else v
                    for v in items]
            out[key] = done if isinstance(value, list) else done[0]
        else:
            out[key] = value
    return out


def _float(value: Any) -> Any:
    if isinstance(value, list):
        return [_float(v) for v in value]
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def reference_item(ref: Reference, base_url: str, key: str) -> Complex:
    endpoint = "/Groups" if ref.type == "Group" else "/Users"
    item: Complex = {"value": ref.id, "$ref": f"{base_url}{endpoint}/{ref.id}"}
    if ref.display is not None:
        item["display"] = ref.display
    item["type"] = ref.type if key == "members" else "direct"
    return item
