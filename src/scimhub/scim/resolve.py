"""Resolving an attribute path against a resource type's schemas.

Shared by the filter compiler, sorting and projections so that a name means
the same attribute everywhere: case-insensitive (RFC 7643 §2.1), optionally
URN-qualified, and a bare name found in exactly one extension resolves there
(Entra writes ``manager`` for the enterprise extension's attribute).
"""

from __future__ import annotations

from dataclasses import dataclass

from scimhub.scim.paths import AttrPath
from scimhub.scim.schema import Attribute, ResourceType, Schema, common_attribute


@dataclass(frozen=True)
class Resolved:
    #: The extension URN whose object holds the attribute; None for core and common.
    container: str | None
    attr: Attribute
    sub: Attribute | None = None

    @property
    def leaf(self) -> Attribute:
        return self.sub or self.attr

    @property
    def names(self) -> tuple[str, ...]:
        """The keys leading to the value in a stored document."""
        keys: tuple[str, ...] = (self.container,) if self.container else ()
        keys += (self.attr.name,)
        return keys + ((self.sub.name,) if self.sub else ())


def resolve(path: AttrPath, rtype: ResourceType) -> Resolved | None:
    """The attribute ``path`` names, or None when the schemas have no such attribute."""
    schema: Schema | None = None
    if path.urn is not None:
        schema = rtype.schema_for(path.urn)
        if schema is None:
            return None
        attr = schema.attribute(path.attr)
        if attr is None and schema is rtype.schema:
            attr = common_attribute(path.attr)
    else:
        attr = rtype.schema.attribute(path.attr) or common_attribute(path.attr)
        if attr is None:
            schema, attr = _in_one_extension(path.attr, rtype)
    if attr is None:
        return None
    container = schema.id if schema is not None and schema is not rtype.schema else None
    if path.sub_attr is None:
        return Resolved(container, attr)
    sub = attr.sub(path.sub_attr)
    if sub is None:
        return None
    return Resolved(container, attr, sub)


def _in_one_extension(name: str, rtype: ResourceType) -> tuple[Schema | None, Attribute | None]:
    found = [(ext, a) for ext in rtype.extensions if (a := ext.attribute(name)) is not None]
    return found[0] if len(found) == 1 else (None, None)
