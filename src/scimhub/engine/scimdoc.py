"""From mapped target attributes to SCIM: the create body, PATCH operations, and reading back.

Target attributes are SCIM paths (``userName``, ``name.givenName``,
``emails[type eq "work"].value``, ``urn:...:enterprise:2.0:User:department``).
The create body is built by applying them as PATCH ``add`` operations with the
service provider's own PATCH code, so the engine and the server agree on what a
path means.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scimhub.scim.filter_parser import parse_patch_path
from scimhub.scim.matching import element_matches, get_ci
from scimhub.scim.patch import PatchOperation, apply_patch
from scimhub.scim.resolve import resolve
from scimhub.scim.schema import ResourceType
from scimhub.scim.types import PatchOperationBody, Resource


def build_resource(attributes: Mapping[str, Any], rtype: ResourceType) -> Resource:
    ops = [PatchOperation("add", parse_patch_path(t), v) for t, v in attributes.items()
           if v is not None]
    doc = apply_patch({}, ops, rtype)
    extensions = [e.id for e in rtype.extensions if e.id in doc]
    return {"schemas": [rtype.schema.id, *extensions], **doc}


def patch_operations(sent: Mapping[str, Any], desired: Mapping[str, Any]
                     ) -> list[PatchOperationBody]:
    """Only what changed: ``replace`` for a new value, ``remove`` for one that became empty."""
    ops: list[PatchOperationBody] = []
    for target, value in desired.items():
        before = sent.get(target)
        if value == before:
            continue
        if value is None:
            ops.append({"op": "remove", "path": target})
        else:
            ops.append({"op": "replace", "path": target, "value": value})
    return ops


def read_value(doc: Mapping[str, Any], target: str, rtype: ResourceType) -> Any:
    """The value a target resource holds at a mapping's path, or None."""
    path = parse_patch_path(target)
    resolved = resolve(path.attr, rtype)
    if resolved is None:
        return None
    holder: Any = doc.get(resolved.container, {}) if resolved.container else doc
    value = get_ci(holder, resolved.attr.name)
    if path.value_filter is not None:
        matching = [e for e in value or [] if isinstance(e, Mapping)
                    and element_matches(path.value_filter, e, resolved.attr)]
        if not matching:
            return None
        value = matching[0]
        return get_ci(value, path.sub_attr) if path.sub_attr else value
    if resolved.sub is not None:
        return get_ci(value, resolved.sub.name) if isinstance(value, Mapping) else None
    return value
