"""Attribute definitions (RFC 7643 §2 and §7) and name resolution.

Every rule that depends on an attribute's characteristics (type, mutability,
case-exactness, what is returned) reads it from here, so the schema that
``/Schemas`` publishes and the behaviour of the server cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, TypeVar

from scimhub.scim.types import Document

AttrType = Literal[
    "string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary"
]
Mutability = Literal["readOnly", "readWrite", "immutable", "writeOnly"]
Returned = Literal["always", "never", "default", "request"]
Uniqueness = Literal["none", "server", "global"]

_Named = TypeVar("_Named", "Attribute", "Schema")


def _by_name(items: Iterable[_Named], key: str = "name") -> dict[str, _Named]:
    """Each item under its own spelling and its lower-cased one, so that a lookup with the
    canonical spelling (what stored documents and most clients use) costs one dict probe and
    no ``str.lower``. Names are unique case-insensitively (RFC 7643 §2.1), so the two
    spellings of different items never collide; the first of any duplicates wins, as the
    scans this replaces did."""
    found: dict[str, _Named] = {}
    for item in items:
        name: str = getattr(item, key)
        if found.setdefault(name.lower(), item) is item:
            found.setdefault(name, item)
    return found


def _lookup(table: dict[str, _Named], name: str) -> _Named | None:
    found = table.get(name)
    return found if found is not None else table.get(name.lower())


@dataclass(frozen=True)
class Attribute:
    name: str
    type: AttrType = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = "readWrite"
    returned: Returned = "default"
    uniqueness: Uniqueness = "none"
    description: str = ""
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()

    def sub(self, name: str) -> Attribute | None:
        return _lookup(self._subs, name)

    @cached_property
    def _subs(self) -> dict[str, Attribute]:
        return _by_name(self.sub_attributes)

    def to_document(self) -> Document:
        doc: Document = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description or self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical_values:
            doc["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            doc["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            doc["subAttributes"] = [a.to_document() for a in self.sub_attributes]
        return doc


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> Attribute | None:
        return _lookup(self._attributes, name)

    @cached_property
    def _attributes(self) -> dict[str, Attribute]:
        return _by_name(self.attributes)


@dataclass(frozen=True)
class ResourceType:
    """A resource type with its core schema and extensions.

    ``common`` holds the attributes of RFC 7643 §3.1 (id, externalId, meta)
    that belong to every resource but to no schema.
    """

    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()
    required_extensions: frozenset[str] = field(default_factory=frozenset)

    @property
    def schema_ids(self) -> tuple[str, ...]:
        return (self.schema.id, *(ext.id for ext in self.extensions))

    def extension(self, urn: str) -> Schema | None:
        return _lookup(self._extensions, urn)

    def schema_for(self, urn: str) -> Schema | None:
        return _lookup(self._schemas, urn)

    @cached_property
    def multi_valued_attributes(self) -> tuple[tuple[str | None, Attribute], ...]:
        """Every multi-valued attribute with the extension URN holding it (None: core);
        walked for every PATCH (``scim/limits.py``), so found once per type."""
        return tuple((None if schema is self.schema else schema.id, a)
                     for schema in (self.schema, *self.extensions)
                     for a in schema.attributes if a.multi_valued)

    @cached_property
    def returned_keys(self) -> frozenset[str]:
        """Top-level keys of a rendered resource that hold an attribute returned unless
        excluded: the core schema's and the common ones (RFC 7643 §3.1), with their
        canonical spelling, less any ``returned: never``. Lets the default projection pass
        a resource through with one set lookup a key (``scim/projection.py``)."""
        return frozenset(a.name for a in (*self.schema.attributes, *COMMON_ATTRIBUTES)
                         if a.returned != "never")

    @cached_property
    def _extensions(self) -> dict[str, Schema]:
        return _by_name(self.extensions, "id")

    @cached_property
    def _schemas(self) -> dict[str, Schema]:
        return _by_name((self.schema, *self.extensions), "id")

    def split_urn(self, name: str) -> tuple[Schema | None, str]:
        """Split ``urn:...:User:name.givenName`` into its schema and the rest.

        A name without a known URN prefix belongs to the core schema. Matching
        is case-insensitive, as attribute names are (RFC 7643 §2.1).
        """
        lowered = name.lower()
        for schema in (self.schema, *self.extensions):
            prefix = schema.id.lower() + ":"
            if lowered.startswith(prefix):
                return schema, name[len(prefix):]
        return None, name

    def to_document(self, base_location: str) -> Document:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [
                {"schema": ext.id, "required": ext.id in self.required_extensions}
                for ext in self.extensions
            ],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_location}/ResourceTypes/{self.name}",
            },
        }


#: RFC 7643 §3.1: attributes every resource has, outside any schema.
COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "id", case_exact=True, mutability="readOnly", returned="always", uniqueness="server"
    ),
    Attribute("externalId", case_exact=True),
    Attribute(
        "meta",
        type="complex",
        mutability="readOnly",
        sub_attributes=(
            Attribute("resourceType", case_exact=True, mutability="readOnly"),
            Attribute("created", type="dateTime", mutability="readOnly"),
            Attribute("lastModified", type="dateTime", mutability="readOnly"),
            Attribute(
                "location", type="reference", case_exact=True, mutability="readOnly",
                reference_types=("uri",),
            ),
            Attribute("version", case_exact=True, mutability="readOnly"),
        ),
    ),
)


_COMMON = _by_name(COMMON_ATTRIBUTES)


def common_attribute(name: str) -> Attribute | None:
    return _lookup(_COMMON, name)
