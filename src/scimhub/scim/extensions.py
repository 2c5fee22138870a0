"""Tenant-defined schema extensions (issue 11 §3): reading one, and a tenant's resource types.

An admin registers an RFC 7643 §7 schema document (``id``, ``name``,
``description``, ``attributes``) as an extension of User or Group. This module
checks it and turns it into a :class:`Schema`; :func:`tenant_schemas` then
builds the tenant's User and Group resource types with those extensions
appended, which is all the rest of the protocol code needs: normalisation,
PATCH, filters, sorting and projection already resolve names against
``ResourceType.extensions`` (that is how the enterprise extension works).

Pure: no storage, no HTTP. The document a tenant gets back from ``/Schemas``
is regenerated from the parsed :class:`Schema`, so it says exactly what the
server enforces.

Decisions where the RFC leaves room:

- ``canonicalValues`` are advertised, not enforced: RFC 7643 §7 calls them
  suggested values that a service provider MAY use.
- ``uniqueness`` other than ``none`` is refused: scimhub does not enforce it
  on extension attributes, and advertising a constraint it does not keep would
  mislead clients that read ``/Schemas`` (Entra does, docs/entra.md §1.12).
- Attribute names follow RFC 7643 §2.1 (``ATTRNAME``); sub-attributes of a
  complex attribute are simple (RFC 7643 §2.3.8: no complex within complex).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, cast, get_args

from scimhub.scim.schema import (
    Attribute,
    AttrType,
    Mutability,
    ResourceType,
    Returned,
    Schema,
)
from scimhub.scim.schemas import ENTERPRISE_USER_SCHEMA, GROUP, GROUP_SCHEMA, USER, USER_SCHEMA
from scimhub.scim.types import ENTERPRISE_USER, Document

ExtendedType = Literal["User", "Group"]
EXTENDED_TYPES: Final[tuple[ExtendedType, ...]] = ("User", "Group")

#: RFC 7643 §2.1 ATTRNAME.
_ATTRNAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
#: The URN grammar the path parser accepts (``filter_parser._URN``): a registered URN must
#: parse back out of ``urn:...:attr`` paths, or its attributes could not be filtered on.
_URN = re.compile(r"urn:[a-z0-9][a-z0-9-]{0,31}:[a-z0-9()+,\-.:=@;$_!*'%/?#]+", re.IGNORECASE)
#: Namespaces RFC 7643/7644 define: no tenant may redefine a core or message schema.
_RESERVED_PREFIXES: Final = ("urn:ietf:params:scim:schemas:core:", "urn:ietf:params:scim:api:")
_RESERVED: Final = frozenset(u.lower() for u in (ENTERPRISE_USER,))
_TYPES: Final = frozenset(get_args(AttrType))
_MUTABILITY: Final = frozenset(get_args(Mutability))
_RETURNED: Final = frozenset(get_args(Returned))
_ATTRIBUTE_KEYS: Final = frozenset({
    "name", "type", "multivalued", "description", "required", "caseexact", "mutability",
    "returned", "uniqueness", "canonicalvalues", "referencetypes", "subattributes",
})
#: Bounds that keep one tenant's schema small enough to resolve names in quickly.
MAX_ATTRIBUTES: Final = 200
#: Extensions per tenant: every name a request resolves is looked for in each of them.
MAX_EXTENSIONS: Final = 50
MAX_URN_LENGTH: Final = 300


class ExtensionError(ValueError):
    """A schema document that cannot be registered; the message says what to fix."""


@dataclass(frozen=True)
class Extension:
    """A registered extension: its schema, the resource type it extends, and whether
    that resource type requires it (``schemaExtensions[].required``, RFC 7643 §6)."""

    schema: Schema
    resource_type: ExtendedType
    required: bool = False


@dataclass(frozen=True)
class TenantSchemas:
    """What one tenant's requests resolve names against: its User and Group types."""

    user: ResourceType = USER
    group: ResourceType = GROUP
    extensions: tuple[Extension, ...] = field(default_factory=tuple)

    def of(self, name: str) -> ResourceType:
        """The tenant's resource type called ``name`` (``User`` or ``Group``)."""
        return self.group if name == "Group" else self.user

    @property
    def resource_types(self) -> tuple[ResourceType, ...]:
        return (self.user, self.group)

    @property
    def schemas(self) -> tuple[Schema, ...]:
        """Every schema ``/Schemas`` lists for the tenant: the built-in ones, then its own."""
        return (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA,
                *(e.schema for e in self.extensions))


#: A tenant that registered nothing: the module-level types, shared, never rebuilt.
BUILTIN: Final = TenantSchemas()


def is_reserved(urn: str) -> bool:
    lowered = urn.lower()
    return lowered in _RESERVED or lowered.startswith(_RESERVED_PREFIXES)


def parse_extension(doc: object) -> Schema:
    """Check an RFC 7643 §7 schema document and return it as a :class:`Schema`.

    Raises :class:`ExtensionError` naming the first problem (and where), so that
    ``scimhub schema add`` can say what to fix; nothing is half-accepted.
    """
    if not isinstance(doc, Mapping):
        raise ExtensionError("A schema document must be a JSON object")
    urn = doc.get("id")
    if not isinstance(urn, str) or not urn:
        raise ExtensionError("'id' (the extension's URN) is required and must be a string")
    if len(urn) > MAX_URN_LENGTH:
        raise ExtensionError(f"'id' is longer than {MAX_URN_LENGTH} characters")
    if not _URN.fullmatch(urn) or urn.endswith(":"):
        raise ExtensionError(f"'id' must be a URN such as "
                             f"urn:ietf:params:scim:schemas:extension:Name:2.0:User, not {urn!r}")
    if is_reserved(urn):
        raise ExtensionError(f"{urn} is a core or standard schema and cannot be redefined")
    name = doc.get("name", "")
    description = doc.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        raise ExtensionError("'name' and 'description' must be strings")
    raw = doc.get("attributes")
    if not isinstance(raw, list) or not raw:
        raise ExtensionError("'attributes' must be a non-empty array of attribute definitions")
    if len(raw) > MAX_ATTRIBUTES:
        raise ExtensionError(f"An extension may define at most {MAX_ATTRIBUTES} attributes")
    attributes = tuple(_attribute(a, f"attributes[{i}]", top=True) for i, a in enumerate(raw))
    _unique_names(attributes, "attributes")
    return Schema(id=urn, name=name or urn, description=description,
                  attributes=attributes)


def _attribute(raw: object, where: str, top: bool) -> Attribute:
    if not isinstance(raw, Mapping):
        raise ExtensionError(f"{where} must be an object")
    unknown = sorted(k for k in raw if str(k).lower() not in _ATTRIBUTE_KEYS)
    if unknown:
        raise ExtensionError(f"{where}: unknown characteristic {unknown[0]!r}")
    keys = {str(k).lower(): v for k, v in raw.items()}
    name = keys.get("name")
    if not isinstance(name, str) or not _ATTRNAME.fullmatch(name):
        raise ExtensionError(f"{where}.name must be an attribute name (a letter, then letters, "
                             f"digits, '-' or '_'), not {name!r}")
    where = f"{where} ({name})"
    kind = _choice(keys, "type", _TYPES, "string", where)
    if kind == "complex" and not top:
        raise ExtensionError(f"{where}: a sub-attribute cannot be complex (RFC 7643 §2.3.8)")
    mutability = _choice(keys, "mutability", _MUTABILITY, "readWrite", where)
    returned = _choice(keys, "returned", _RETURNED,
                       "never" if mutability == "writeOnly" else "default", where)
    if mutability == "writeOnly" and returned != "never":
        raise ExtensionError(f"{where}: a writeOnly attribute is returned 'never' (RFC 7643 §7)")
    uniqueness = keys.get("uniqueness", "none")
    if uniqueness != "none":
        raise ExtensionError(f"{where}: uniqueness {uniqueness!r} is not supported on extension "
                             "attributes; only 'none'")
    subs: tuple[Attribute, ...] = ()
    raw_subs = keys.get("subattributes")
    if kind == "complex":
        if not isinstance(raw_subs, list) or not raw_subs:
            raise ExtensionError(f"{where}: a complex attribute needs 'subAttributes'")
        if len(raw_subs) > MAX_ATTRIBUTES:
            raise ExtensionError(f"{where}: at most {MAX_ATTRIBUTES} sub-attributes")
        subs = tuple(_attribute(s, f"{where}.subAttributes[{i}]", top=False)
                     for i, s in enumerate(raw_subs))
        _unique_names(subs, f"{where}.subAttributes")
    elif raw_subs not in (None, []):
        raise ExtensionError(f"{where}: only a complex attribute has 'subAttributes'")
    return Attribute(
        name=name,
        type=cast(AttrType, kind),
        multi_valued=_flag(keys, "multivalued", where),
        required=_flag(keys, "required", where),
        case_exact=_flag(keys, "caseexact", where),
        mutability=cast(Mutability, mutability),
        returned=cast(Returned, returned),
        description=_text(keys, "description", where) or name,
        canonical_values=_strings(keys, "canonicalvalues", where),
        reference_types=_strings(keys, "referencetypes", where),
        sub_attributes=subs,
    )


def _choice(keys: Mapping[str, Any], key: str, allowed: frozenset[str], default: str,
            where: str) -> str:
    value = keys.get(key, default)
    if value not in allowed:
        raise ExtensionError(f"{where}.{key}: {value!r} is not one of {', '.join(sorted(allowed))}")
    return str(value)


def _flag(keys: Mapping[str, Any], key: str, where: str) -> bool:
    value = keys.get(key, False)
    if not isinstance(value, bool):
        raise ExtensionError(f"{where}.{key} must be true or false")
    return value


def _text(keys: Mapping[str, Any], key: str, where: str) -> str:
    value = keys.get(key, "")
    if not isinstance(value, str):
        raise ExtensionError(f"{where}.{key} must be a string")
    return value


def _strings(keys: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = keys.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ExtensionError(f"{where}.{key} must be an array of strings")
    return tuple(value)


def _unique_names(attributes: Sequence[Attribute], where: str) -> None:
    """Names are case-insensitive (RFC 7643 §2.1): two that differ only in case clash."""
    seen: set[str] = set()
    for attr in attributes:
        if attr.name.lower() in seen:
            raise ExtensionError(f"{where}: '{attr.name}' is defined twice")
        seen.add(attr.name.lower())


def check_compatible(new: Extension, existing: Iterable[Extension]) -> None:
    """Refuse a URN another registration already uses, or one that would make paths
    ambiguous: ``urn:a:b:c:attr`` must not also read as attribute ``c:attr`` of ``urn:a:b``."""
    lowered = new.schema.id.lower()
    existing = list(existing)
    if len(existing) >= MAX_EXTENSIONS:
        raise ExtensionError(f"A tenant may register at most {MAX_EXTENSIONS} extensions")
    for other in existing:
        theirs = other.schema.id.lower()
        if theirs == lowered:
            raise ExtensionError(f"{new.schema.id} is already registered")
        if theirs.startswith(lowered + ":") or lowered.startswith(theirs + ":"):
            raise ExtensionError(f"{new.schema.id} and {other.schema.id} overlap: one URN "
                                 "must not be the other followed by ':'")


def tenant_schemas(extensions: Sequence[Extension]) -> TenantSchemas:
    """The tenant's resource types: the built-in ones with its extensions appended."""
    if not extensions:
        return BUILTIN
    return TenantSchemas(
        user=_extend(USER, [e for e in extensions if e.resource_type == "User"]),
        group=_extend(GROUP, [e for e in extensions if e.resource_type == "Group"]),
        extensions=tuple(extensions),
    )


def _extend(base: ResourceType, extensions: Sequence[Extension]) -> ResourceType:
    if not extensions:
        return base
    return replace(
        base,
        extensions=(*base.extensions, *(e.schema for e in extensions)),
        required_extensions=base.required_extensions | {e.schema.id for e in extensions
                                                         if e.required},
    )


def schema_to_document(schema: Schema) -> Document:
    """The stored form of a parsed extension (what :func:`parse_extension` reads back)."""
    return {"id": schema.id, "name": schema.name, "description": schema.description,
            "attributes": [a.to_document() for a in schema.attributes]}
