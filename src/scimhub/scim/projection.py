"""``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5) and ``returned`` (RFC 7643 §7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scimhub.scim.errors import InvalidValue
from scimhub.scim.paths import AttrPath
from scimhub.scim.resolve import resolve
from scimhub.scim.schema import Attribute, ResourceType, common_attribute
from scimhub.scim.types import Complex, Resource

#: (extension URN or None for core/common, attribute name, sub-attribute name or None)
Target = tuple[str | None, str, str | None]


@dataclass(frozen=True)
class Projection:
    """What a response should contain, resolved against one resource type."""

    include: frozenset[Target] | None = None
    exclude: frozenset[Target] = frozenset()

    def wants(self, attr: str, container: str | None = None) -> bool:
        """Whether any part of ``attr`` will be returned: lets callers skip reading it."""
        if self.include is not None:
            return any(t[0] == container and t[1] == attr for t in self.include)
        return (container, attr, None) not in self.exclude


def resolve_target(path: AttrPath, rtype: ResourceType) -> Target:
    """Resolve a path to canonical names, or raise InvalidValue for an unknown one.

    A bare schema URN (``urn:...:enterprise:2.0:User``) names its whole extension.
    """
    whole = rtype.schema_for(f"{path.urn}:{path.attr}" if path.urn else path.attr)
    if whole is not None and path.sub_attr is None and whole is not rtype.schema:
        return (whole.id, "", None)
    resolved = resolve(path, rtype)
    if resolved is None:
        raise InvalidValue(f"Unknown attribute '{path}'")
    return (resolved.container, resolved.attr.name, resolved.sub.name if resolved.sub else None)


def make_projection(
    rtype: ResourceType,
    attributes: Sequence[AttrPath] = (),
    excluded: Sequence[AttrPath] = (),
) -> Projection:
    include = frozenset(resolve_target(p, rtype) for p in attributes) if attributes else None
    exclude = frozenset(resolve_target(p, rtype) for p in excluded)
    return Projection(include, exclude)


def apply_projection(doc: Resource, rtype: ResourceType, proj: Projection) -> Resource:
    """Filter a rendered resource. ``id`` and ``schemas`` are always returned."""
    out: Resource = {}
    for key, value in doc.items():
        if key in ("schemas", "id"):
            out[key] = value
            continue
        ext = rtype.extension(key)
        if ext is not None:
            block = _project_block(value, ext.id, ext.attribute, proj)
            if block:
                out[key] = block
            continue
        attr = rtype.schema.attribute(key) or common_attribute(key)
        kept = _project_attr(key, value, None, attr, proj)
        if kept is not None:
            out[key] = kept
    return out


def _project_block(
    block: Complex, urn: str, lookup: Any, proj: Projection
) -> Complex:
    if (urn, "", None) in proj.exclude:
        return {}
    whole = proj.include is not None and (urn, "", None) in proj.include
    result: Complex = {}
    for key, value in block.items():
        if whole:
            result[key] = value
            continue
        kept = _project_attr(key, value, urn, lookup(key), proj)
        if kept is not None:
            result[key] = kept
    return result


def _project_attr(
    name: str, value: Any, container: str | None, attr: Attribute | None, proj: Projection
) -> Any:
    if attr is not None and attr.returned == "never":
        return None
    if attr is not None and attr.returned == "always":
        return value
    if (container, name, None) in proj.exclude:
        return None
    if proj.include is None:
        return _drop_excluded_subs(name, value, container, proj)
    if (container, name, None) in proj.include:
        return value
    subs = {t[2] for t in proj.include if t[0] == container and t[1] == name and t[2]}
    if not subs and attr is not None and attr.returned == "request":
        return None
    if not subs:
        return None
    return _keep_subs(value, subs)


def _drop_excluded_subs(name: str, value: Any, container: str | None, proj: Projection) -> Any:
    subs = {t[2] for t in proj.exclude if t[0] == container and t[1] == name and t[2]}
    if not subs:
        return value
    if isinstance(value, list):
        return [{k: v for k, v in item.items() if k not in subs} for item in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in subs}
    return value


def _keep_subs(value: Any, subs: set[str]) -> Any:
    if isinstance(value, list):
        kept = [{k: v for k, v in item.items() if k in subs} for item in value]
        return [item for item in kept if item] or None
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in subs} or None
    return None
