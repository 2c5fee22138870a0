"""Evaluating a filter against JSON in memory (RFC 7644 §3.4.2.2).

PATCH value filters (``emails[type eq "work"]``) select elements with
``element_matches``; ``resource_matches`` checks a whole resource. Both read
attribute characteristics (type, caseExact) from the schema, and the rules for
what a comparison value may be live in ``check_comparison`` so that the SQL
compiler enforces exactly the same ones.

Decisions the RFC leaves open:

* ``attr eq null`` means "attr is not present" and ``attr ne null`` means
  "attr is present" (the same as ``not (attr pr)`` and ``attr pr``); any other
  operator with ``null`` is an invalidFilter.
* ``ne`` is true when the attribute is absent ("not equal" to anything); on a
  multi-valued attribute it is true when the attribute is absent or some
  element differs.
* Other operators on a multi-valued attribute are true when any element
  matches; an absent attribute matches nothing.
* A stored value of the wrong JSON type never matches (and so ``ne`` is true
  for it): bad data must not turn a search into an error.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filters import And, Compare, Filter, Literal_, Not, Or, Present, ValuePath
from scimhub.scim.paths import AttrPath
from scimhub.scim.resolve import Resolved, resolve
from scimhub.scim.schema import Attribute, ResourceType

#: ``schemas`` belongs to every resource but to no schema (RFC 7643 §3); URIs
#: are matched case-insensitively as everywhere else in scimhub.
SCHEMAS_ATTRIBUTE: Final = Attribute(
    "schemas", type="reference", multi_valued=True, mutability="readOnly", returned="always"
)

_STRING_TYPES: Final = frozenset({"string", "reference", "binary"})
_FOLDED_TYPES: Final = frozenset({"string", "reference"})
#: RFC 7644 §3.4.2.2: gt/ge/lt/le on "Boolean and Binary attributes SHALL cause a failed
#: response (HTTP status code 400) with "scimType" of "invalidFilter"".
_ORDERED_TYPES: Final = frozenset({"string", "reference", "integer", "decimal", "dateTime"})
_BOOLEANS: Final = {"true": True, "false": False}
_OPS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "co": lambda actual, wanted: wanted in actual,
    "sw": lambda actual, wanted: actual.startswith(wanted),
    "ew": lambda actual, wanted: actual.endswith(wanted),
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def parse_datetime(text: str) -> datetime:
    """An aware datetime from ISO 8601 / RFC 3339 text; naive input is taken as UTC.

    Raises ValueError: callers decide whether bad text is the client's error
    (a filter value) or just a value that matches nothing (stored data).
    """
    parsed = datetime.fromisoformat(text.upper())  # RFC 3339 allows 't' and 'z'
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:  # in UTC, as everything stored is: 0001-01-01T00:00+14:00 is before year 1
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None


def check_comparison(attr: Attribute, op: str, value: Literal_) -> object:
    """Validate ``attr op value`` and return the value to compare with.

    A dateTime becomes an aware datetime, a boolean written as "true"/"false"
    (Entra) becomes a bool; strings are returned unfolded, because folding
    depends on where the other side comes from. Raises InvalidFilter for a
    comparison the attribute's type does not support.
    """
    name, kind = attr.name, attr.type
    if value is None:
        raise InvalidFilter(f"'{name} {op} null': only 'eq' and 'ne' compare with null")
    if kind == "complex":
        raise InvalidFilter(f"'{name}' is complex: compare one of its sub-attributes")
    if op in ("co", "sw", "ew") and kind not in _STRING_TYPES:
        raise InvalidFilter(f"'{op}' compares strings, but '{name}' is of type {kind}")
    if op in ("gt", "ge", "lt", "le") and kind not in _ORDERED_TYPES:
        raise InvalidFilter(f"'{op}' cannot order '{name}', which is of type {kind}")
    if kind == "boolean":
        return _boolean(name, value)
    if kind in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidFilter(f"'{name}' is of type {kind}: compare it with a number, "
                                f"not {_describe(value)}")
        return value
    if not isinstance(value, str):
        raise InvalidFilter(f"'{name}' is of type {kind}: compare it with a JSON string, "
                            f"not {_describe(value)}")
    if kind == "dateTime":
        try:
            return parse_datetime(value)
        except ValueError:
            raise InvalidFilter(f"'{name}' is a dateTime, and {value!r} is not "
                                "(expected e.g. \"2011-05-13T04:42:34Z\")") from None
    return value


def element_matches(f: Filter, element: object, parent: Attribute) -> bool:
    """Whether one value of the multi-valued attribute ``parent`` satisfies ``f``.

    ``element`` is a dict for complex attributes; for multi-valued simple
    attributes it is the value itself, which ``f`` names ``value`` (RFC 7644
    §3.5.2). Paths in ``f`` are relative: ``type``, not ``emails.type``.
    """
    if isinstance(f, And | Or):
        # Both sides always: an invalid filter must fail whatever the data holds.
        left = element_matches(f.left, element, parent)
        right = element_matches(f.right, element, parent)
        return (left and right) if isinstance(f, And) else (left or right)
    if isinstance(f, Not):
        return not element_matches(f.inner, element, parent)
    if isinstance(f, ValuePath):
        raise InvalidFilter("A value filter cannot be nested in another")
    leaf = element_attribute(parent, f.path)
    actual = element if leaf is parent else get_ci(element, leaf.name)
    return _leaf_matches(f, leaf, [actual])


def resource_matches(f: Filter, doc: Mapping[str, Any], rtype: ResourceType) -> bool:
    """Whether the resource ``doc`` of type ``rtype`` satisfies ``f``.

    Raises InvalidFilter for a filter that names unknown attributes or compares
    values the schema does not allow, whatever ``doc`` holds.
    """
    if isinstance(f, And | Or):
        # Both sides always: an invalid filter must fail whatever the data holds.
        left = resource_matches(f.left, doc, rtype)
        right = resource_matches(f.right, doc, rtype)
        return (left and right) if isinstance(f, And) else (left or right)
    if isinstance(f, Not):
        return not resource_matches(f.inner, doc, rtype)
    resolved = _resolve(f.path, rtype)
    if isinstance(f, ValuePath):
        return _value_path_matches(f, resolved, doc)
    if resolved.names[:2] == ("meta", "resourceType"):
        return _leaf_matches(f, resolved.leaf, [rtype.name])  # the type is not stored
    leaf, values = _leaf_values(resolved, doc)
    return _leaf_matches(f, leaf, values)


def _value_path_matches(f: ValuePath, resolved: Resolved, doc: Mapping[str, Any]) -> bool:
    """One single element must satisfy the whole bracketed filter."""
    attr = resolved.attr
    if resolved.sub is not None or not attr.multi_valued:
        raise InvalidFilter(f"'{f.path}[...]' needs a multi-valued attribute")
    elements = _elements(get_ci(_container(resolved, doc), attr.name))
    # A placeholder first, so that an invalid inner filter fails even with no elements.
    element_matches(f.filter, {} if attr.type == "complex" else None, attr)
    return any(element_matches(f.filter, element, attr) for element in elements)


def _resolve(path: AttrPath, rtype: ResourceType) -> Resolved:
    resolved = resolve(path, rtype)
    if resolved is not None:
        return resolved
    if path.attr.lower() == "schemas" and path.sub_attr is None and (
            path.urn is None or path.urn.lower() == rtype.schema.id.lower()):
        return Resolved(None, SCHEMAS_ATTRIBUTE)
    raise InvalidFilter(f"Unknown attribute '{path}' in filter")


def _leaf_values(resolved: Resolved, doc: Mapping[str, Any]) -> tuple[Attribute, list[Any]]:
    """The attribute compared and every value of it in ``doc`` (absent ones as None).

    Comparing a complex attribute without a sub-attribute compares its
    ``value`` sub-attribute (``emails co "x"``, ``manager eq "id"``), as the
    RFC's own examples do.
    """
    attr = resolved.attr
    raw = get_ci(_container(resolved, doc), attr.name)
    elements = _elements(raw) if attr.multi_valued else [raw]
    sub = resolved.sub or (attr.sub("value") if attr.type == "complex" else None)
    if sub is None:
        return attr, elements
    return sub, [get_ci(element, sub.name) for element in elements]


def element_attribute(parent: Attribute, path: AttrPath) -> Attribute:
    """The sub-attribute a relative path names; ``parent`` itself for a simple ``value``."""
    if path.urn is not None or path.sub_attr is not None:
        raise InvalidFilter(f"'{path}' is not a sub-attribute of '{parent.name}'")
    if parent.type != "complex" and path.attr.lower() == "value":
        return parent
    sub = parent.sub(path.attr)
    if sub is None:
        raise InvalidFilter(f"'{parent.name}' has no sub-attribute '{path.attr}'")
    return sub


def _leaf_matches(f: Compare | Present, leaf: Attribute, values: list[Any]) -> bool:
    present = [v for v in values if _is_present(v)]
    if isinstance(f, Present):
        return bool(present)
    if f.value is None and f.op in ("eq", "ne"):
        return bool(present) == (f.op == "ne")
    try:
        wanted = check_comparison(leaf, f.op, f.value)
    except InvalidFilter as exc:  # name the whole expression: the leaf alone can be ambiguous
        raise InvalidFilter(f"{exc.detail} (in '{f}')") from None
    if f.op == "ne":
        return len(present) < len(values) or not values or any(
            _compare(leaf, "ne", v, wanted) for v in present)
    return any(_compare(leaf, f.op, v, wanted) for v in present)


def _compare(attr: Attribute, op: str, actual: Any, wanted: object) -> bool:
    """One stored value against the checked filter value; a type mismatch is "not equal"."""
    kind = attr.type
    if kind == "boolean":
        actual = _BOOLEANS.get(actual.lower()) if isinstance(actual, str) else actual
        ok = isinstance(actual, bool)
    elif kind in ("integer", "decimal"):
        ok = isinstance(actual, int | float) and not isinstance(actual, bool)
    elif kind == "dateTime":
        actual, ok = _as_datetime(actual)
    else:
        ok = isinstance(actual, str)
        if ok and kind in _FOLDED_TYPES and not attr.case_exact:
            actual, wanted = actual.casefold(), str(wanted).casefold()
    return _OPS[op](actual, wanted) if ok else op == "ne"


def _as_datetime(value: Any) -> tuple[datetime | None, bool]:
    if not isinstance(value, str):
        return None, False
    try:
        return parse_datetime(value), True
    except ValueError:
        return None, False


def _boolean(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    raise InvalidFilter(f"'{name}' is a boolean: compare it with true or false, "
                        f"not {_describe(value)}")


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"the string {value!r}"
    return "true" if value is True else "false" if value is False else f"the number {value}"


def _is_present(value: Any) -> bool:
    """RFC 7644 §3.4.2.2 'pr': a non-empty value (null, "", [] and {} are not)."""
    return value is not None and value != "" and value != [] and value != {}


def _container(resolved: Resolved, doc: Mapping[str, Any]) -> Any:
    return get_ci(doc, resolved.container) if resolved.container else doc


def _elements(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def get_ci(obj: Any, name: str) -> Any:
    """``obj[name]`` with the name matched case-insensitively (RFC 7643 §2.1)."""
    if not isinstance(obj, Mapping):
        return None
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None
