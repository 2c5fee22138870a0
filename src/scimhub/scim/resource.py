"""Turning what a client sends into a stored resource, and back.

Input is normalised once, on the way in: attribute names take the schema's
spelling, values their schema type (Entra's ``"True"`` becomes ``true``),
read-only attributes are dropped. Everything stored is therefore canonical,
which is what lets the SQL filter compiler compare stored JSON directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from scimhub.scim.errors import InvalidSyntax, InvalidValue
from scimhub.scim.limits import DEFAULT_LIMITS, check_values
from scimhub.scim.schema import Attribute, ResourceType, common_attribute
from scimhub.scim.types import Complex, Document, Resource

#: Numbers (extension attributes of type integer or decimal) stay within a signed 64-bit
#: magnitude: SQLite's JSON functions read larger integers as inexact reals, and PostgreSQL
#: hands back an integral JSONB number such as 1e300 as a 301-digit integer, which no JSON
#: encoder of ours writes. Within it, both databases compare and return values alike.
NUMBER_BOUND = 2**63
_TRUE = {"true"}
_FALSE = {"false"}


def normalize_resource(body: object, rtype: ResourceType,
                       max_values: int = DEFAULT_LIMITS.max_values_per_attribute
                       ) -> Resource:
    """Validate a POST/PUT body and return its canonical stored form.

    The result holds ``externalId``, core attributes and one object per
    extension URN; never ``id``, ``meta`` or ``schemas``, which the server owns.
    A multi-valued attribute with more than ``max_values`` values is refused
    (``scim/limits.py`` says why).
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object")
    _check_schemas(body.get("schemas"), rtype)
    doc: Resource = {}
    for key, value in body.items():
        _put_top_level(doc, key, value, rtype)
    check_values(doc, rtype, max_values)
    check_required(doc, rtype)
    return doc


def _check_schemas(schemas: object, rtype: ResourceType) -> None:
    if schemas is None:
        return
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise InvalidSyntax("'schemas' must be an array of URIs")
    if not any(s.lower() == rtype.schema.id.lower() for s in schemas):
        raise InvalidValue(f"'schemas' must include {rtype.schema.id}")


def _put_top_level(doc: Resource, key: str, value: Any, rtype: ResourceType) -> None:
    lowered = key.lower()
    if lowered in ("schemas", "id", "meta"):
        return
    extension = rtype.extension(key)
    if extension is not None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise InvalidValue(f"'{extension.id}' must be an object")
        block = doc.setdefault(extension.id, {})
        for name, sub_value in value.items():
            attr = extension.attribute(name)
            if attr is None:
                raise InvalidValue(f"Unknown attribute '{name}' in {extension.id}")
            _store(block, attr, sub_value)
        if not block:
            del doc[extension.id]
        return
    schema, rest = rtype.split_urn(key)
    if schema is not None and schema is not rtype.schema:
        attr = schema.attribute(rest)
        if attr is None:
            raise InvalidValue(f"Unknown attribute '{key}'")
        block = doc.setdefault(schema.id, {})
        _store(block, attr, value)
        if not block:
            del doc[schema.id]
        return
    if lowered.startswith("urn:") and schema is None:
        return  # an extension we do not serve, e.g. Entra's ADSCIM group URI
    attr = rtype.schema.attribute(rest) or common_attribute(rest)
    if attr is None:
        raise InvalidValue(f"Unknown attribute '{key}'")
    _store(doc, attr, value)


def _store(target: Document, attr: Attribute, value: Any) -> None:
    if attr.mutability == "readOnly":
        return
    coerced = coerce(attr, value)
    if coerced is None:
        target.pop(attr.name, None)
    else:
        target[attr.name] = coerced


def coerce(attr: Attribute, value: Any) -> Any:
    """Return ``value`` in ``attr``'s canonical form, or None when unassigned.

    RFC 7643 §2.5: null, an empty array and (by our choice) an empty complex
    value all mean "no value". Raises InvalidValue naming the attribute.
    """
    if value is None:
        return None
    if attr.multi_valued:
        items = value if isinstance(value, list) else [value]
        result = [v for v in (_coerce_single(attr, item) for item in items) if v is not None]
        if attr.type == "complex":
            _check_one_primary(attr, result)
        return result or None
    if isinstance(value, list) and attr.type == "complex" and len(value) == 1:
        value = value[0]  # legacy Entra: manager sent as a one-element array
    return _coerce_single(attr, value)


def _coerce_single(attr: Attribute, value: Any) -> Any:
    if value is None or value == "":
        return None  # "" unassigns, as it does in PATCH (docs/entra.md §3.2 SCIM_Null_Update_Test)
    if attr.type == "complex":
        return _coerce_complex(attr, value)
    return coerce_simple(attr, value)


def _coerce_complex(attr: Attribute, value: Any) -> Complex | None:
    if isinstance(value, str) and attr.sub("value") is not None:
        value = {"value": value}  # Entra sends manager as a bare id string
    if not isinstance(value, dict):
        raise InvalidValue(f"'{attr.name}' must be a complex value (a JSON object)")
    result: Complex = {}
    for name, sub_value in value.items():
        sub = attr.sub(name)
        if sub is None:
            raise InvalidValue(f"Unknown sub-attribute '{name}' of '{attr.name}'")
        if sub.mutability == "readOnly" and attr.name != "members":
            continue
        coerced = coerce_simple(sub, sub_value) if sub_value is not None else None
        if coerced is not None:
            result[sub.name] = coerced
    if attr.sub("value") is not None and result.get("value") == "" and len(result) == 1:
        return None  # Entra clears a manager with {"value": ""}
    return result or None


def coerce_simple(attr: Attribute, value: Any) -> Any:
    """Coerce one simple value; booleans also accept Entra's "True"/"False"."""
    kind = attr.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
    elif kind in ("integer", "decimal"):
        allowed = int if kind == "integer" else int | float
        if kind == "decimal" and isinstance(value, float) and value.is_integer():
            # Stored as the integer it is: PostgreSQL's JSONB hands an integral number back
            # without its exponent (3.602879701896397e+16 as 36028797018963970, not the
            # double that was sent), SQLite as the double. As an integer, both agree.
            value = int(value)
        if isinstance(value, allowed) and not isinstance(value, bool):
            if not -NUMBER_BOUND <= value < NUMBER_BOUND:
                raise InvalidValue(f"'{attr.name}' must lie between -2^63 and 2^63 "
                                   f"(a signed 64-bit range), not {value!r}")
            return value
    elif kind == "dateTime":
        if isinstance(value, str):
            return normalize_datetime(value, attr.name)
    elif isinstance(value, str):
        return value
    raise InvalidValue(f"'{attr.name}' must be of type {kind}, not {type(value).__name__}")


def normalize_datetime(text: str, name: str = "dateTime") -> str:
    """Canonical UTC form, so stored dateTimes compare correctly as strings."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"'{name}' is not an xsd:dateTime: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return format_datetime(parsed)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise InvalidValue(f"'{name}' is outside the years 1 to 9999 in UTC: {text!r}") from None


def format_datetime(moment: datetime) -> str:
    """The canonical UTC form stored dateTimes are compared in as strings. Years are written
    with four digits by hand: ``strftime("%Y")`` writes year 999 as ``999``, which would sort
    after ``1000``."""
    m = moment.astimezone(UTC)
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
            f"{m.second:02d}.{m.microsecond:06d}Z")


def _check_one_primary(attr: Attribute, values: list[Any]) -> None:
    primaries = sum(1 for v in values if isinstance(v, dict) and v.get("primary") is True)
    if primaries > 1:
        raise InvalidValue(f"At most one of '{attr.name}' may be primary (RFC 7643 §2.4)")


def check_required(doc: Mapping[str, Any], rtype: ResourceType) -> None:
    """Required means non-blank: a ``userName`` of only spaces identifies no one.

    An extension's required attributes are required of a resource that carries the
    extension, and of every resource when the resource type requires the extension
    (``schemaExtensions[].required``, RFC 7643 §6): a tenant-defined extension
    (``scim/extensions.py``) may declare either.
    """
    _check_required(doc, rtype.schema.attributes, "")
    for ext in rtype.extensions:
        block = doc.get(ext.id)
        if ext.id in rtype.required_extensions and not block:
            raise InvalidValue(f"The extension {ext.id} is required")
        if block:
            _check_required(block, ext.attributes, f"{ext.id}:")


def _check_required(doc: Mapping[str, Any], attributes: Iterable[Attribute], prefix: str
                    ) -> None:
    for attr in attributes:
        if not attr.required:
            continue
        value = doc.get(attr.name)
        if value in (None, []) or (isinstance(value, str) and not value.strip()):
            raise InvalidValue(f"'{prefix}{attr.name}' is required and must not be blank")


def extension_ids_present(doc: Mapping[str, Any], rtype: ResourceType) -> list[str]:
    return [ext.id for ext in rtype.extensions if doc.get(ext.id)]


def schemas_of(doc: Mapping[str, Any], rtype: ResourceType) -> list[str]:
    return [rtype.schema.id, *extension_ids_present(doc, rtype)]


def names_lower(names: Iterable[str]) -> set[str]:
    return {n.lower() for n in names}
