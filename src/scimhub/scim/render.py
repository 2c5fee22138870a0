"""Rendering a stored resource as the SCIM document a client receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from scimhub.scim.schema import ResourceType
from scimhub.scim.types import Complex, Resource


class Reference(NamedTuple):
    """A member of a group, or a group of a user, as read from the membership table.

    A named tuple rather than a frozen dataclass: a page of 100 users reads hundreds of
    them, and a tuple is made in half the time (0.35 µs against 0.65)."""

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


def reference_item(ref: Reference, base_url: str, key: str) -> Complex:
    endpoint = "/Groups" if ref.type == "Group" else "/Users"
    item: Complex = {"value": ref.id, "$ref": f"{base_url}{endpoint}/{ref.id}"}
    if ref.display is not None:
        item["display"] = ref.display
    item["type"] = ref.type if key == "members" else "direct"
    return item
