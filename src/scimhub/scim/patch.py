"""PATCH (RFC 7644 §3.5.2): parsing the PatchOp message and applying it.

Everything here is pure: ``apply_patch`` takes a stored document and returns a
new one, so a request whose last operation fails changes nothing (RFC 7644
§3.5.2: "A PATCH request, regardless of the number of operations, SHALL be
treated as atomic"). Group membership is split off by
``split_member_operations`` first, because a group may have 100,000 members
that never travel inside the document.

Decisions where RFC 7644 or Entra leave room (each one repeated where it is
implemented):

* Attribute names are case-insensitive (RFC 7643 §2.1) and written with the
  schema's spelling. An unknown attribute named by ``path`` is ``invalidPath``;
  one named by a key of a path-less value object is ``invalidValue`` (the same
  error POST gives); keys qualified by a schema we do not serve (anything with
  a ``:``) are ignored, as on POST (docs/entra.md §1.4.5 custom extensions, §1.6
  ADSCIM URI). A path naming a whole schema URN targets that schema's
  attributes as one complex value (scim2-tester patches extensions this way).
* ``null`` and ``""`` as a value unassign the target (RFC 7643 §2.5; docs/entra.md
  §3.2 SCIM_Null_Update_Test); so does a complex value whose only assigned
  content is an empty ``value`` (``{"value": ""}``: Entra clears the manager,
  docs/entra.md §1.4.6).
* ``add``/``replace`` on a single-valued complex attribute merge
  sub-attributes (RFC 7644 §3.5.2.3: "Sub-attributes that are not specified in
  the value parameter are left unchanged"), except that a new ``value`` starts
  from scratch: ``$ref``/``displayName`` of the old manager describe a
  different resource.
* Unassigning the ``value`` sub-attribute of an element of a multi-valued
  attribute removes the element (the element *is* its value, RFC 7643 §2.4);
  elements left empty are removed too.
* ``remove`` with a value filter that matches nothing succeeds without change
  (the desired state already holds); ``add``/``replace`` with a value filter and
  a sub-attribute that match nothing create the element from the filter's
  ``eq`` clauses (docs/entra.md §1.4.2, I-48) instead of RFC 7644 §3.5.2.3's
  ``noTarget``; ``replace`` of whole elements that match nothing stays
  ``noTarget``.
* ``remove`` with a ``value`` on a multi-valued attribute removes the listed
  values only (Entra's default group shape, docs/entra.md §1.4.1); elements of a
  complex attribute are identified by their ``value`` sub-attribute.
* Removing or unassigning a required attribute is ``mutability`` (RFC 7644
  §3.5.2.2: "If an attribute is removed or becomes unassigned and is defined as
  a required attribute or a read-only attribute ... 'mutability'").
* A read-only attribute named by ``path`` is ``mutability``; in a path-less
  value object it is ignored, because clients echo ``id``/``meta``/``groups``.
* Too many operations in one request is ``invalidSyntax``; ``value`` missing
  from add/replace is ``invalidValue``; ``value: null`` on remove counts as
  absent.
* A value that sets ``primary`` demotes the other values (RFC 7644 §3.5.2);
  two new primaries in one value are ``invalidValue`` (RFC 7643 §2.4).
* Adding a value already present changes nothing (RFC 7644 §3.5.2.1); members
  (whose ``value`` is immutable) are the same member when ``value`` is equal.
* Limits (``scim/limits.py``): an operation that leaves a multi-valued attribute
  with more values than ``max_values_per_attribute`` (and more than it had) is
  ``invalidValue``, and so is one sending more values than that; a request
  whose operations would visit more than ``max_patch_work`` values in total is
  ``tooMany``, refused before the operation that crosses the bound runs. Every
  per-value step is linear (de-duplication by hashing), so that bound is a
  bound on time. Either way nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from scimhub.scim.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    TooMany,
)
from scimhub.scim.filter_parser import parse_patch_path
from scimhub.scim.filters import And, Compare, Filter, Or
from scimhub.scim.limits import DEFAULT_LIMITS, UNLIMITED, Limits, check_values, value_counts
from scimhub.scim.matching import element_matches
from scimhub.scim.paths import AttrPath, PatchPath
from scimhub.scim.resolve import resolve
from scimhub.scim.resource import coerce_simple
from scimhub.scim.schema import Attribute, ResourceType, Schema
from scimhub.scim.types import PATCH_OP, Complex, Document, PatchOpName

Op = PatchOpName
_OPS: Final[dict[str, Op]] = {"add": "add", "replace": "replace", "remove": "remove"}


class _Missing(Enum):
    NO_VALUE = "NO_VALUE"


#: ``PatchOperation.value`` when the operation had no ``value`` member.
NO_VALUE: Final = _Missing.NO_VALUE


@dataclass(frozen=True)
class PatchOperation:
    """One element of ``Operations`` (RFC 7644 §3.5.2), with ``op`` lower-cased."""

    op: Op
    path: PatchPath | None = None
    value: Any = NO_VALUE


# ---------------------------------------------------------------------------
# Parsing the message


def parse_patch_request(body: object, max_operations: int = 1000) -> list[PatchOperation]:
    """Validate a PatchOp message (RFC 7644 §3.5.2) and return its operations.

    Member names and ``op`` values are matched case-insensitively: Entra sends
    ``Operations`` and ``"op": "Replace"`` (docs/entra.md §1.4, §4 item 6).
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("The PATCH body must be a JSON object (RFC 7644 §3.5.2)")
    schemas = _get(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == PATCH_OP.lower() for s in schemas
    ):
        raise InvalidSyntax(f"'schemas' must contain {PATCH_OP}")
    raw_ops = _get(body, "Operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise InvalidSyntax("'Operations' must be a non-empty array (RFC 7644 §3.5.2)")
    if len(raw_ops) > max_operations:
        raise InvalidSyntax(f"A PATCH request may hold at most {max_operations} operations")
    return [_parse_operation(raw, index) for index, raw in enumerate(raw_ops)]


def _get(obj: Mapping[Any, Any], name: str, default: Any = NO_VALUE) -> Any:
    """``obj[name]`` with a case-insensitive key: JSON member names vary in case."""
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return default


def _parse_operation(raw: object, index: int) -> PatchOperation:
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"Operation {index} must be a JSON object")
    name = _get(raw, "op")
    op = _OPS.get(name.lower()) if isinstance(name, str) else None
    if op is None:
        raise InvalidSyntax(f"Operation {index}: 'op' must be add, replace or remove")
    path = _parse_path(_get(raw, "path", None), index)
    value = _get(raw, "value")
    if op == "remove":
        if path is None:  # RFC 7644 §3.5.2.2
            raise NoTarget(f"Operation {index}: 'remove' requires a 'path'")
        return PatchOperation(op, path, NO_VALUE if value is None else value)
    if value is NO_VALUE:
        raise InvalidValue(f"Operation {index}: '{op}' requires a 'value'")
    return PatchOperation(op, path, value)


def _parse_path(text: object, index: int) -> PatchPath | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidPath(f"Operation {index}: 'path' must be a string")
    path: PatchPath = parse_patch_path(text)
    return path


# ---------------------------------------------------------------------------
# Applying operations to a document


@dataclass(frozen=True)
class _Target:
    """Where an operation lands, with canonical attributes.

    ``container`` is the extension URN holding ``attr`` (None: top level);
    ``sub`` is ``name.givenName``'s ``givenName`` or ``emails[...].value``'s
    ``value``; ``select`` says the target is elements of a multi-valued
    attribute (a value filter, or a sub-attribute of every element when
    ``value_filter`` is None).
    """

    container: str | None
    attr: Attribute
    sub: Attribute | None = None
    value_filter: Filter | None = None

    @property
    def select(self) -> bool:
        return self.value_filter is not None or (self.sub is not None and self.attr.multi_valued)


class _Work:
    """What the operations of one request may still visit (``Limits.max_patch_work``)."""

    def __init__(self, limits: Limits) -> None:
        self.left = limits.max_patch_work
        self.limits = limits

    def charge(self, visits: int) -> None:
        self.left -= visits
        if self.left < 0:
            raise TooMany(
                f"The operations of this PATCH would visit more than "
                f"{self.limits.max_patch_work} attribute values; split it into smaller requests")


def apply_patch(doc: Document, ops: Sequence[PatchOperation], rtype: ResourceType,
                limits: Limits = DEFAULT_LIMITS) -> Document:
    """Apply ``ops`` in order to a copy of ``doc`` and return it.

    All or nothing (RFC 7644 §3.5.2): the input is never mutated, so an error
    in any operation leaves the stored resource as it was. The value limit is
    checked after every operation, so that no intermediate state grows past it.

    The copy is shallow (the top level and each extension object, the dicts operations
    write into): every handler builds new lists and elements rather than changing the
    input's, which a deep copy of the whole document (two dozen ``deepcopy`` calls a
    PATCH) used to guard against. tests/scim/test_patch.py checks that the input is
    never mutated, for hand-written and random operations.
    """
    result = dict(doc)
    for ext in rtype.extensions:
        block = result.get(ext.id)
        if isinstance(block, dict):
            result[ext.id] = dict(block)
    before = value_counts(doc, rtype)
    work = _Work(limits)
    for op in ops:
        _apply_operation(result, op, rtype, work)
        check_values(result, rtype, limits.max_values_per_attribute, before)
    _check_required(doc, result, rtype)
    _tidy(result, rtype)
    return result


def _apply_operation(doc: Document, op: PatchOperation, rtype: ResourceType, work: _Work
                     ) -> None:
    if op.path is None:
        if op.op == "remove":
            raise NoTarget("'remove' requires a 'path' (RFC 7644 §3.5.2.2)")
        _apply_block(doc, op.op, op.value, rtype, None, work)
        return
    block = _named_block(op.path, rtype)
    if block is not None:
        _apply_block_path(doc, op, rtype, block, work)
        return
    _apply_target(doc, op.op, _resolve_path(op.path, rtype), op.value, work)


def _named_block(path: PatchPath, rtype: ResourceType) -> Schema | None:
    """The schema a path like ``urn:...:enterprise:2.0:User`` names as a whole, if any."""
    if path.value_filter is not None or path.sub_attr or path.attr.sub_attr:
        return None
    return rtype.schema_for(str(path.attr))


def _apply_block_path(
    doc: Document, op: PatchOperation, rtype: ResourceType, block: Schema, work: _Work
) -> None:
    """A path naming a whole schema: its attributes as a complex value (RFC 7644 §3.10)."""
    work.charge(1)
    if op.op != "remove":
        _apply_block(doc, op.op, op.value, rtype, block, work)
    elif block is rtype.schema:
        raise Mutability("The core schema of a resource cannot be removed")
    else:
        doc.pop(block.id, None)


def _resolve_path(path: PatchPath, rtype: ResourceType) -> _Target:
    resolved = resolve(path.attr, rtype)
    if resolved is None:
        raise InvalidPath(f"Unknown attribute '{path.attr}'")
    if path.value_filter is None:
        return _Target(resolved.container, resolved.attr, resolved.sub)
    attr = resolved.attr
    if resolved.sub is not None or not attr.multi_valued or attr.type != "complex":
        raise InvalidPath(f"'{path}': a value filter needs a multi-valued complex attribute")
    sub = None
    if path.sub_attr:
        sub = attr.sub(path.sub_attr)
        if sub is None:
            raise InvalidPath(f"Unknown sub-attribute '{path.sub_attr}' of '{attr.name}'")
    return _Target(resolved.container, attr, sub, path.value_filter)


def _apply_block(
    doc: Document, op: Op, value: Any, rtype: ResourceType, scope: Schema | None, work: _Work
) -> None:
    """Path-less add/replace (RFC 7644 §3.5.2.1, §3.5.2.3): one operation per key.

    Keys may be dotted (``name.givenName``) or URN-qualified, or a schema URN
    whose value holds that schema's attributes: Entra's path-less replace
    (docs/entra.md §1.4.1, §4 item 9). With ``scope`` (a path naming a schema),
    keys are names within that schema.
    """
    if value is None and scope is not None and scope is not rtype.schema:
        doc.pop(scope.id, None)
        return
    if not isinstance(value, dict):
        where = f"'{scope.id}'" if scope is not None else f"The value of a path-less '{op}'"
        raise InvalidValue(f"{where} must be an object of attributes")
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidValue("Attribute names must be strings")
        _apply_key(doc, op, key, item, rtype, scope, work)


def _apply_key(
    doc: Document, op: Op, key: str, value: Any, rtype: ResourceType, scope: Schema | None,
    work: _Work,
) -> None:
    if key.lower() == "schemas":
        return  # the server owns 'schemas'
    block = rtype.schema_for(key) if scope is None else None
    if block is not None:
        _apply_block(doc, op, value, rtype, block, work)
        return
    path = _key_path(key, rtype, scope)
    if path is None:
        return  # an extension we do not serve, ignored as on POST
    resolved = resolve(path, rtype)
    if resolved is None:
        raise InvalidValue(f"Unknown attribute '{key}'")
    if resolved.leaf.mutability == "readOnly" or resolved.attr.mutability == "readOnly":
        return  # clients echo id, meta, groups back: ignore rather than fail
    _apply_target(doc, op, _Target(resolved.container, resolved.attr, resolved.sub), value,
                  work)


def _key_path(key: str, rtype: ResourceType, scope: Schema | None) -> AttrPath | None:
    """``name.givenName`` / ``urn:...:User:manager`` as an AttrPath.

    None for a name qualified by a schema we do not serve (a ``:`` cannot be
    part of an attribute name, RFC 7643 §2.1), e.g. a custom Entra extension.
    """
    if scope is not None:
        name, _, sub = key.partition(".")
        return AttrPath(name, sub or None, scope.id)
    schema, rest = rtype.split_urn(key)
    if schema is None and ":" in key:
        return None
    name, _, sub = rest.partition(".")
    return AttrPath(name, sub or None, schema.id if schema is not None else None)


def _apply_target(doc: Document, op: Op, target: _Target, value: Any, work: _Work) -> None:
    kind = "select" if target.select else "sub" if target.sub is not None else "attr"
    _check_target(target)
    holder = _holder(doc, target.container)
    visits = 1
    if target.attr.multi_valued:
        sent = len(value) if isinstance(value, list) else 0
        max_values = work.limits.max_values_per_attribute
        if sent > max_values and op != "remove" and target.attr.name not in UNLIMITED:
            raise InvalidValue(f"'{target.attr.name}' may hold at most {max_values} values, "
                               f"and {sent} were sent")
        visits += len(_element_list(holder.get(target.attr.name))) + sent
    work.charge(visits)
    _HANDLERS[(kind, op == "remove")](holder, target, op, value)


def _holder(doc: Document, container: str | None) -> Document:
    """The object holding the attribute; an extension's object is created on demand
    and dropped again by ``_tidy`` if it stays empty."""
    if container is None:
        return doc
    block = doc.get(container)
    if not isinstance(block, dict):
        block = doc[container] = {}
    return block


# --- whole attribute: "userName", "name", "emails", "manager" ---------------


def _set_attr(holder: Document, target: _Target, op: Op, value: Any) -> None:
    """RFC 7644 §3.5.2.1/§3.5.2.3 on an attribute: set, merge or append."""
    attr = target.attr
    current = holder.get(attr.name)
    new: Any
    if attr.multi_valued:
        new = _merge_multi(attr, current, value, replace=op == "replace")
    elif attr.type == "complex":
        new = _merge_complex(current, _complex(attr, value))
    else:
        new = _simple(attr, value)
    _check_writable(attr, current, new)
    _store(holder, attr.name, new)


def _remove_attr(holder: Document, target: _Target, op: Op, value: Any) -> None:
    """RFC 7644 §3.5.2.2; with a value, Entra's "remove these members" (docs/entra.md §1.4.1)."""
    attr = target.attr
    current = holder.get(attr.name)
    new = None
    if attr.multi_valued and value is not NO_VALUE:
        new = _without(attr, current, value)
    _check_writable(attr, current, new)
    _store(holder, attr.name, new)


# --- sub-attribute of a single-valued complex attribute: "name.givenName" ---


def _set_sub(holder: Document, target: _Target, op: Op, value: Any) -> None:
    assert target.sub is not None
    parent = holder.get(target.attr.name)
    parent = dict(parent) if isinstance(parent, dict) else {}
    new = _simple(target.sub, value)
    _check_writable(target.sub, parent.get(target.sub.name), new)
    _store(parent, target.sub.name, new)
    _store(holder, target.attr.name, parent)


def _remove_sub(holder: Document, target: _Target, op: Op, value: Any) -> None:
    _set_sub(holder, target, op, None)


# --- elements of a multi-valued attribute: 'emails[type eq "work"].value' ---


def _set_selected(holder: Document, target: _Target, op: Op, value: Any) -> None:
    """Set on every matching element; create the element when none matches.

    RFC 7644 §3.5.2.3 answers ``noTarget`` when nothing matches; Entra sends
    the filtered path for a type the user does not have yet and expects it
    to be created (docs/entra.md §1.4.2, I-48), so we do that for ``add`` and for
    ``replace`` of a sub-attribute. Whole-element ``replace`` stays strict.
    A null or "" value unassigns, like ``remove``.
    """
    attr = target.attr
    if target.sub is not None:
        patch: Complex | None = {target.sub.name: _simple(target.sub, value)}
    else:
        patch = _complex(attr, value)
    if patch is None or (target.sub is not None and patch[target.sub.name] is None):
        _remove_selected(holder, target, op, NO_VALUE)
        return
    elements = _element_list(holder.get(attr.name))
    hits = _matching(target, elements)
    whole = op == "replace" and target.sub is None
    touched = [_patched(attr, elements[i], patch, whole) for i in hits]
    for i, element in zip(hits, touched, strict=True):
        elements[i] = element
    if not hits:
        if whole:
            raise NoTarget(f"No value of '{attr.name}' matches the filter (RFC 7644 §3.5.2.3)")
        touched = [_patched(attr, _element_from_filter(attr, target.value_filter), patch, False)]
        elements.extend(touched)
    _fix_primary(attr, elements, touched)
    _keep(holder, attr, elements)


def _remove_selected(holder: Document, target: _Target, op: Op, value: Any) -> None:
    """RFC 7644 §3.5.2.2: drop matching elements, or their sub-attribute.

    No match is success without change: the state the client asked for holds.
    """
    attr = target.attr
    elements = _element_list(holder.get(attr.name))
    hits = set(_matching(target, elements))
    if target.sub is None:
        _keep(holder, attr, [e for i, e in enumerate(elements) if i not in hits])
        return
    patch = {target.sub.name: None}
    _keep(
        holder,
        attr,
        [_patched(attr, e, patch, False) if i in hits else e for i, e in enumerate(elements)],
    )


def _check_target(target: _Target) -> None:
    """A read-only attribute or sub-attribute as a target is 'mutability' (RFC 7644 §3.5.2)."""
    _check_writable(target.attr, None, None)
    if target.sub is not None:
        _check_writable(target.sub, None, None)


def _matching(target: _Target, elements: list[Any]) -> list[int]:
    f = target.value_filter
    return [
        i
        for i, element in enumerate(elements)
        if isinstance(element, dict) and (f is None or element_matches(f, element, target.attr))
    ]


def _patched(
    attr: Attribute, element: Any, patch: Mapping[str, Any], whole: bool
) -> Complex | None:
    """``element`` with ``patch``'s sub-attributes set (None: unassigned).

    ``whole`` replaces the element; immutable sub-attributes must then keep
    their value (RFC 7643 §2.2).
    """
    old = element if isinstance(element, dict) else {}
    new = {} if whole else dict(old)
    for name, sub_value in patch.items():
        sub = attr.sub(name)
        assert sub is not None
        _check_writable(sub, old.get(name), sub_value)
        _store(new, name, sub_value)
    if whole:
        for sub in attr.sub_attributes:
            if sub.mutability == "immutable" and sub.name not in new:
                _check_writable(sub, old.get(sub.name), None)
    if not new or (not whole and "value" in old and "value" not in new):
        return None  # an element whose value is unassigned is gone (RFC 7643 §2.4)
    return new


def _keep(holder: Document, attr: Attribute, elements: list[Any]) -> None:
    _store(holder, attr.name, [e for e in elements if e is not None])


def _element_from_filter(attr: Attribute, f: Filter | None) -> Complex:
    """The element ``emails[type eq "work"]`` describes: ``{"type": "work"}``.

    Only ``eq`` comparisons joined by ``and`` describe one element; any other
    filter that matched nothing is ``noTarget`` (RFC 7644 §3.5.2).
    """
    if f is None:
        return {}
    if isinstance(f, And):
        left = _element_from_filter(attr, f.left)
        right = _element_from_filter(attr, f.right)
        if any(k in left and left[k] != v for k, v in right.items()):
            raise NoTarget(f"The filter on '{attr.name}' contradicts itself")
        return {**left, **right}
    if isinstance(f, Compare) and f.op == "eq" and f.path.sub_attr is None:
        sub = attr.sub(f.path.attr)
        if sub is None:
            raise InvalidFilter(f"Unknown sub-attribute '{f.path.attr}' of '{attr.name}'")
        value = _simple(sub, f.value)
        if value is not None and sub.mutability != "readOnly":
            return {sub.name: value}
    raise NoTarget(f"No value of '{attr.name}' matches the filter, and it cannot create one")


# --- values -----------------------------------------------------------------


def _simple(attr: Attribute, value: Any) -> Any:
    """The canonical value, or None for null and "" (RFC 7643 §2.5; docs/entra.md §3.2).

    ``coerce_simple`` turns Entra's "True"/"False" into booleans (docs/entra.md §4 item 7).
    """
    if value is None or (isinstance(value, str) and value == ""):
        return None
    return coerce_simple(attr, value)


def _complex(attr: Attribute, value: Any) -> Complex | None:
    """Sub-attributes to write (None values: unassign), or None to unassign it all.

    Accepts Entra's manager shapes (docs/entra.md §1.4.6): a bare id string, a
    one-element array, and ``{"value": ""}`` for "no manager". Read-only
    sub-attributes are ignored: clients echo them.
    """
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if not attr.multi_valued:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, str) and attr.sub("value") is not None:
            value = {"value": value}
    if not isinstance(value, dict):
        raise InvalidValue(f"'{attr.name}' must be a complex value (a JSON object)")
    subs: Complex = {}
    for name, sub_value in value.items():
        sub = attr.sub(name) if isinstance(name, str) else None
        if sub is None:
            raise InvalidValue(f"Unknown sub-attribute '{name}' of '{attr.name}'")
        if sub.mutability != "readOnly":
            subs[sub.name] = _simple(sub, sub_value)
    if "value" in subs and all(v is None for v in subs.values()):
        return None
    return subs


def _elements(attr: Attribute, value: Any) -> list[Any]:
    """The values a multi-valued attribute is given: one value or an array of them."""
    items = [] if value is None else value if isinstance(value, list) else [value]
    if attr.type != "complex":
        return [v for v in (_simple(attr, item) for item in items) if v is not None]
    result = []
    for item in items:
        if not isinstance(item, dict):
            raise InvalidValue(f"Each value of '{attr.name}' must be a JSON object")
        element = _patched(attr, {}, _complex(attr, item) or {}, False)
        if element is not None:
            result.append(element)
    return result


def _merge_multi(attr: Attribute, current: Any, value: Any, replace: bool) -> list[Any] | None:
    """Append (add) or substitute (replace) values, never duplicating one (RFC 7644 §3.5.2.1)."""
    new = _elements(attr, value)
    result = [] if replace else _element_list(current)
    seen = {_identity(attr, existing) for existing in result}
    for item in new:
        key = _identity(attr, item)
        if key not in seen:
            seen.add(key)
            result.append(item)
    _fix_primary(attr, result, new)
    return result or None


def _merge_complex(current: Any, subs: Complex | None) -> Complex | None:
    """Merge sub-attributes (RFC 7644 §3.5.2.3); a new ``value`` is a new referent."""
    if subs is None:
        return None
    base = dict(current) if isinstance(current, dict) else {}
    if subs.get("value") is not None and base.get("value") != subs["value"]:
        base = {}
    for name, sub_value in subs.items():
        _store(base, name, sub_value)
    return base or None


def _without(attr: Attribute, current: Any, value: Any) -> list[Any] | None:
    """``current`` minus the listed values; complex values are identified by ``value``."""
    listed = _elements(attr, value)
    if attr.type == "complex":
        if any("value" not in item for item in listed):
            raise InvalidValue(f"Values to remove from '{attr.name}' must carry 'value'")
        ids = {_hashable(item["value"]) for item in listed}
        keep = [
            e for e in _element_list(current)
            if not (isinstance(e, dict) and _hashable(e.get("value")) in ids)
        ]
    else:
        gone = {_hashable(item) for item in listed}
        keep = [e for e in _element_list(current) if _hashable(e) not in gone]
    return keep or None


def _identity(attr: Attribute, value: Any) -> Hashable:
    """What makes two values the same value, as a hash key (so merging is linear):
    members (immutable ``value``) are the same member by ``value``; anything else when
    equal."""
    key = attr.sub("value")
    if key is not None and key.mutability == "immutable" and isinstance(value, dict):
        return ("member", _hashable(value.get("value")))
    return _hashable(value)


def _hashable(value: Any) -> Hashable:
    """A hash key equal for equal values: complex values hold only simple ones."""
    if isinstance(value, dict):
        try:
            return ("complex", frozenset(value.items()))
        except TypeError:  # a nested value, which canonical documents do not hold
            return ("json", json.dumps(value, sort_keys=True, default=str))
    if isinstance(value, list):
        return ("json", json.dumps(value, sort_keys=True, default=str))
    return ("simple", value)


def _fix_primary(attr: Attribute, elements: list[Any], touched: Sequence[Any]) -> None:
    """RFC 7644 §3.5.2: a value set primary demotes the others; RFC 7643 §2.4: only one."""
    if attr.sub("primary") is None:
        return
    present = {id(e) for e in elements}
    fresh = [
        t for t in touched if isinstance(t, dict) and t.get("primary") is True and id(t) in present
    ]
    if len(fresh) > 1:
        raise InvalidValue(f"At most one value of '{attr.name}' may be primary (RFC 7643 §2.4)")
    for i, element in enumerate(elements):
        if fresh and element is not fresh[0] and _as_dict(element).get("primary") is True:
            elements[i] = {**element, "primary": False}  # a copy: the input is never changed


def _as_dict(value: Any) -> Complex:
    return value if isinstance(value, dict) else {}


def _element_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _store(holder: Document, name: str, value: Any) -> None:
    """Set, or unassign when empty (RFC 7643 §2.5: null, [] and {} are no value)."""
    if value is None or value == [] or value == {}:
        holder.pop(name, None)
    else:
        holder[name] = value


def _check_writable(attr: Attribute, current: Any, new: Any) -> None:
    """RFC 7644 §3.5.2: never readOnly; immutable only when it had no value (or keeps it)."""
    if attr.mutability == "readOnly":
        raise Mutability(f"'{attr.name}' is readOnly")
    if attr.mutability == "immutable" and current is not None and new != current:
        raise Mutability(f"'{attr.name}' is immutable")


def _check_required(before: Document, after: Document, rtype: ResourceType) -> None:
    """RFC 7644 §3.5.2.2: a required attribute that becomes unassigned is 'mutability'."""
    for schema in (rtype.schema, *rtype.extensions):
        old = before if schema is rtype.schema else _as_dict(before.get(schema.id))
        new = after if schema is rtype.schema else _as_dict(after.get(schema.id))
        for attr in schema.attributes:
            if (
                attr.required
                and old.get(attr.name) not in (None, "", [])
                and (new.get(attr.name) in (None, "", []))
            ):
                raise Mutability(f"'{attr.name}' is required and cannot be removed")


def _tidy(doc: Document, rtype: ResourceType) -> None:
    """Drop empty extension objects and keep ``schemas`` in step with them."""
    for ext in rtype.extensions:
        if ext.id in doc and not doc[ext.id]:
            del doc[ext.id]
    if "schemas" in doc:
        doc["schemas"] = [rtype.schema.id, *(e.id for e in rtype.extensions if e.id in doc)]


_Handler = Callable[[Document, _Target, Op, Any], None]

#: (target kind, is remove) → handler.
_HANDLERS: Final[dict[tuple[str, bool], _Handler]] = {
    ("attr", False): _set_attr,
    ("attr", True): _remove_attr,
    ("sub", False): _set_sub,
    ("sub", True): _remove_sub,
    ("select", False): _set_selected,
    ("select", True): _remove_selected,
}


# ---------------------------------------------------------------------------
# Group membership


@dataclass(frozen=True)
class Member:
    """A member as a client writes it: ``$ref`` and ``display`` sent by clients are
    ignored (the server derives them); ``ref`` is for the store to fill on reads."""

    value: str
    type: str | None = None
    ref: str | None = None


@dataclass(frozen=True)
class AddMembers:
    values: tuple[Member, ...]


@dataclass(frozen=True)
class RemoveMembers:
    ids: tuple[str, ...]


@dataclass(frozen=True)
class RemoveAllMembers:
    pass


@dataclass(frozen=True)
class ReplaceMembers:
    values: tuple[Member, ...]


@dataclass(frozen=True)
class RemoveMembersWhere:
    """Remove the members matching ``filter`` (paths relative to a member)."""

    filter: Filter


MemberChange = AddMembers | RemoveMembers | RemoveAllMembers | ReplaceMembers | RemoveMembersWhere


def split_member_operations(
    ops: Sequence[PatchOperation], rtype: ResourceType
) -> tuple[list[PatchOperation], list[MemberChange]]:
    """Separate what touches ``members`` from what ``apply_patch`` does to the document.

    A group may have 100,000 members, so they are changed in the store, not in
    the document. Both lists keep the request's order; the two never interact.
    """
    members = rtype.schema.attribute("members")
    if members is None or not members.multi_valued or members.type != "complex":
        return list(ops), []
    rest: list[PatchOperation] = []
    changes: list[MemberChange] = []
    for op in ops:
        if op.path is None or _named_block(op.path, rtype) is rtype.schema:
            _split_pathless(op, rtype, members, rest, changes)
        elif _is_members(op.path.attr, rtype):
            changes.append(_member_change(op.op, op.path, op.value, members))
        else:
            rest.append(op)
    return rest, changes


def _is_members(path: AttrPath, rtype: ResourceType) -> bool:
    resolved = resolve(path, rtype)
    return resolved is not None and resolved.container is None and resolved.attr.name == "members"


def _split_pathless(
    op: PatchOperation,
    rtype: ResourceType,
    members: Attribute,
    rest: list[PatchOperation],
    changes: list[MemberChange],
) -> None:
    if op.op == "remove" or not isinstance(op.value, dict):
        rest.append(op)
        return
    others: Document = {}
    for key, value in op.value.items():
        path = _key_path(key, rtype, None) if isinstance(key, str) else None
        if path is not None and _is_members(path, rtype):
            changes.append(_member_change(op.op, PatchPath(path), value, members))
        else:
            others[key] = value
    if others or not changes:
        rest.append(PatchOperation(op.op, op.path, others))


def _member_change(op: Op, path: PatchPath, value: Any, members: Attribute) -> MemberChange:
    """Map one operation on ``members`` to a store change (docs/entra.md §1.6, §4 item 11)."""
    sub_name = path.attr.sub_attr or path.sub_attr
    if sub_name is not None:
        sub = members.sub(sub_name)
        if sub is None:
            raise InvalidPath(f"Unknown sub-attribute '{sub_name}' of 'members'")
        raise Mutability(f"'members.{sub.name}' cannot be changed: remove and add the member")
    f = path.value_filter
    if op == "remove":
        if f is not None:
            ids = _member_ids(f)
            return RemoveMembersWhere(f) if ids is None else RemoveMembers(ids)
        if value is NO_VALUE or value is None:
            return RemoveAllMembers()
        return RemoveMembers(tuple(m.value for m in parse_members(value, members)))
    if f is not None:
        raise Mutability("Members are immutable: remove and add them instead of updating")
    values = parse_members(value, members)
    return AddMembers(values) if op == "add" else ReplaceMembers(values)


def _member_ids(f: Filter) -> tuple[str, ...] | None:
    """The ids of ``value eq "x" [or value eq "y" ...]``; None for any other filter."""
    if isinstance(f, Or):
        left, right = _member_ids(f.left), _member_ids(f.right)
        return None if left is None or right is None else left + right
    if (
        isinstance(f, Compare)
        and f.op == "eq"
        and f.path.attr.lower() == "value"
        and f.path.sub_attr is None
        and isinstance(f.value, str)
    ):
        return (f.value,)
    return None


def parse_members(value: Any, members: Attribute) -> tuple[Member, ...]:
    """Members from one object or an array; duplicates (by ``value``) collapse.

    Each needs a non-empty string ``value``; ``type`` is kept (canonical case
    when it is one of the canonical values); other keys, including Entra's
    ``$ref: null`` and R-POSTMAN's ``displayName``, are ignored.
    """
    items = [] if value is None else value if isinstance(value, list) else [value]
    type_attr = members.sub("type")
    # Looked up once per request rather than once per member (100 per Entra batch).
    canonical = ({known.lower(): known for known in type_attr.canonical_values}
                 if type_attr is not None else {})
    seen: dict[str, Member] = {}
    for item in items:
        member = _member(item, canonical)
        seen.setdefault(member.value, member)
    return tuple(seen.values())


def _member(item: Any, canonical: Mapping[str, str]) -> Member:
    if not isinstance(item, dict):
        raise InvalidValue("Each member must be a JSON object with a 'value'")
    value = _get(item, "value", None)
    if not isinstance(value, str) or not value:
        raise InvalidValue("Each member needs a non-empty string 'value'")
    kind = _get(item, "type", None)
    if kind is not None and not isinstance(kind, str):
        raise InvalidValue("A member's 'type' must be a string")
    if kind:
        kind = canonical.get(kind.lower(), kind)
    return Member(value=value, type=kind or None)
