"""Attribute mappings: what each target attribute gets from a source object.

A mapping is of one of Entra's four types: direct (a source attribute), constant,
an Entra expression, or none (no source: the target attribute is only filled with
the mapping's default when it is empty). It applies always or only on create; it may
carry a default for nulls and a matching precedence. Everything is parsed and checked
when a job loads, so a typo is an error naming the mapping and the position, never a
failure in the middle of a cycle.

Nulls follow Entra (docs/entra.md §2.5.1): a null is never provisioned. When the source
value is null (or empty) the default is sent if the mapping has one, on create and on
update alike; without one the attribute is left out, so the target keeps what it has.
Only a mapping with ``clear_when_null = true`` clears the target attribute (a PATCH
``remove``) when its source value becomes null.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from scimhub.engine.errors import MappingError as MappingError  # re-exported: its old home
from scimhub.engine.expressions import (
    IGNORE_FLOW,
    EvaluationContext,
    Expression,
    ExpressionError,
    Redacted,
    evaluate,
    parse_expression,
)
from scimhub.engine.types import Desired
from scimhub.scim.errors import ScimError
from scimhub.scim.filter_parser import parse_patch_path
from scimhub.scim.paths import PatchPath
from scimhub.scim.resolve import resolve
from scimhub.scim.schema import Attribute, ResourceType

#: Entra's mapping types (docs/entra.md §2.5), spelt as the TOML ``type`` key takes them.
Kind = Literal["direct", "constant", "expression", "none"]
KINDS: tuple[Kind, ...] = ("direct", "constant", "expression", "none")
#: The TOML key that carries each type's value; a "none" mapping has none.
_VALUE_KEYS: dict[str, Kind] = {"source": "direct", "constant": "constant",
                                "expression": "expression"}
MANAGER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"


@dataclass(frozen=True)
class AttributeMapping:
    target: str
    kind: Kind
    source: str = ""
    expression: Expression | None = None
    only_on_create: bool = False
    default: str | None = None
    match: int | None = None
    path: PatchPath | None = None
    leaf: Attribute | None = None
    #: Send a PATCH ``remove`` when the source value becomes null; off by default, as in
    #: Entra, which never provisions a null (docs/entra.md §2.5).
    clear_when_null: bool = False

    @property
    def redacted(self) -> bool:
        """The mapping's value is a secret (its expression uses ``Redact``): the log, the
        console, exports, e-mail and dry runs show ``[Redact]`` instead (docs/entra.md §2.6)."""
        return self.expression is not None and self.expression.redacted

    @property
    def is_reference(self) -> bool:
        """manager (and group members) hold source ids that become target ids later."""
        return self.target.lower() == MANAGER.lower() or self.target.lower() == "manager"

    def value(self, obj: MappingType[str, Any], ctx: EvaluationContext) -> Any:
        if self.kind == "none":
            return None
        if self.kind == "constant":
            return self.source
        if self.kind == "direct":
            raw = obj.get(self.source)
        else:
            assert self.expression is not None
            raw = evaluate(self.expression, obj, ctx)
        if isinstance(raw, Redacted):
            raw = str(raw)
        return raw


def parse_mapping(raw: MappingType[str, Any], rtype: ResourceType, where: str) -> AttributeMapping:
    """One ``[[mappings.users]]`` table, checked against the target schema."""
    target = raw.get("target")
    if not isinstance(target, str) or not target:
        raise MappingError(f"{where}: 'target' (the SCIM attribute) is required")
    label = f"{where} ({target})"
    kind = _kind(raw, label)
    apply = raw.get("apply", "always")
    if apply not in ("always", "create"):
        raise MappingError(f"{label}: 'apply' is 'always' or 'create', not {apply!r}")
    path, leaf = _target_path(target, rtype, label)
    expression = None
    if kind == "expression":
        try:
            expression = parse_expression(str(raw["expression"]))
        except ExpressionError as exc:
            raise MappingError(f"{label}: expression {exc}") from None
    match = raw.get("match")
    if match is not None and (not isinstance(match, int) or isinstance(match, bool) or match < 1):
        raise MappingError(f"{label}: 'match' is a precedence, 1 for the first")
    default = raw.get("default")
    if default is not None and not isinstance(default, str | int | float | bool):
        raise MappingError(f"{label}: 'default' is one value (text, a number or a boolean)")
    clear = raw.get("clear_when_null", False)
    if not isinstance(clear, bool):
        raise MappingError(f"{label}: 'clear_when_null' is true or false")
    if clear and kind in ("none", "constant"):
        raise MappingError(f"{label}: 'clear_when_null' needs a source; a '{kind}' mapping "
                           "has none")
    if clear and default is not None:
        raise MappingError(f"{label}: 'clear_when_null' and 'default' exclude each other "
                           "(the default is what a null source sends)")
    if kind == "none" and match is not None and default is None:
        raise MappingError(f"{label}: a 'none' mapping used for matching needs a 'default' "
                           "(the value it matches with)")
    value_key = next((k for k, v in _VALUE_KEYS.items() if v == kind), None)
    return AttributeMapping(
        target=target, kind=kind,
        source=str(raw.get(value_key, "")) if value_key and kind != "expression" else "",
        expression=expression, only_on_create=apply == "create",
        default=None if default is None else _default_text(default), match=match, path=path,
        leaf=leaf, clear_when_null=clear,
    )


def _kind(raw: MappingType[str, Any], label: str) -> Kind:
    """The mapping type: the ``type`` key when given (Entra's Direct, Constant, Expression or
    None, any case), else the one of ``source``, ``constant`` or ``expression`` present."""
    present = [k for k in _VALUE_KEYS if k in raw]
    declared = raw.get("type")
    if declared is None:
        if len(present) != 1:
            raise MappingError(f"{label}: give exactly one of 'source', 'constant' or "
                               "'expression' (or type = \"none\" for a target with no source)")
        return _VALUE_KEYS[present[0]]
    kind = next((k for k in KINDS if k == str(declared).lower()), None)
    if kind is None:
        raise MappingError(f"{label}: 'type' is one of {', '.join(KINDS)}, not {declared!r}")
    if kind == "none":
        if present:
            raise MappingError(f"{label}: a 'none' mapping has no source; remove "
                               f"{', '.join(repr(k) for k in present)}")
        return "none"
    wanted = next(k for k, v in _VALUE_KEYS.items() if v == kind)
    if present != [wanted]:
        raise MappingError(f"{label}: a '{kind}' mapping takes '{wanted}' and only it "
                           "(give exactly one of 'source', 'constant' or 'expression')")
    return kind


def _default_text(value: str | int | float | bool) -> str:
    """A default as Entra holds it, text (``typed`` turns it into the target's type)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _target_path(target: str, rtype: ResourceType, label: str
                 ) -> tuple[PatchPath, Attribute | None]:
    """The path and its attribute in scimhub's built-in schema. An attribute under an
    extension URN (not the core schema's) may exist only at the target, which is not read
    at load: its syntax is checked here, its existence when the job is bound to the target's
    discovered schema (engine/target/schema.py), so ``leaf`` stays None until then."""
    try:
        path = parse_patch_path(target)
    except ScimError as exc:
        raise MappingError(f"{label}: not a SCIM attribute path: {exc.detail}") from None
    resolved = resolve(path.attr, rtype)
    urn = path.attr.urn
    if resolved is None and urn is not None and urn.lower() != rtype.schema.id.lower():
        return path, None
    if resolved is None:
        raise MappingError(f"{label}: the target schema has no attribute '{path.attr}'")
    leaf = resolved.leaf
    if path.sub_attr:
        sub = resolved.attr.sub(path.sub_attr)
        if sub is None:
            raise MappingError(f"{label}: '{resolved.attr.name}' has no '{path.sub_attr}'")
        leaf = sub
    if leaf.mutability == "readOnly":
        raise MappingError(f"{label}: '{target}' is read-only in the target schema")
    return path, leaf


def parse_mappings(raws: Sequence[MappingType[str, Any]], rtype: ResourceType, section: str
                   ) -> list[AttributeMapping]:
    mappings = [parse_mapping(r, rtype, f"{section}[{i}]") for i, r in enumerate(raws)]
    targets = [m.target.lower() for m in mappings]
    if dupes := {t for t in targets if targets.count(t) > 1}:
        raise MappingError(f"{section}: more than one mapping for {', '.join(sorted(dupes))}")
    if not any(m.match for m in mappings):
        raise MappingError(f"{section}: one mapping needs 'match' (the matching attribute)")
    return mappings


def typed(value: Any, leaf: Attribute | None) -> Any:
    """A mapped value in its target type: Entra's expressions yield "True"/"False" strings."""
    if value is None or value == "" or leaf is None:
        return None if value == "" else value
    if leaf.type == "boolean":
        if isinstance(value, str):
            return value.strip().lower() == "true"
        return bool(value)
    if leaf.type == "integer" and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, list):
        return [str(v) for v in value] if leaf.multi_valued else (str(value[0]) if value else None)
    return value if isinstance(value, bool | int | float) and leaf.type != "string" else str(value)


def is_null(value: Any) -> bool:
    """Null as Entra sees it: no value, an empty string or an empty list."""
    return value is None or value == "" or value == []


def desired_attributes(
    mappings: Sequence[AttributeMapping], obj: MappingType[str, Any], ctx: EvaluationContext,
    creating: bool, current: MappingType[str, Any] | None = None,
) -> Desired:
    """Target attribute → value for one object, as Entra decides it (docs/entra.md §2.5.1).

    A null is never provisioned: a null (or empty) source value takes the mapping's default
    when it has one, on create and on update, and is otherwise left out, so the PATCH
    computed from the result leaves the target's value alone. The one exception is a
    mapping with ``clear_when_null``, whose null comes back as None: "clear it" (a
    ``remove``; never sent on create).

    A "none" mapping has no source: it gives its default on create, and on update only when
    ``current`` (the values the engine knows the target holds: what it sent, or read when it
    linked the object) shows the attribute empty; an attribute ``current`` does not hold is
    unknown, and is left alone like any value the target may have.
    """
    out: Desired = {}
    for m in mappings:
        if m.only_on_create and not creating:
            continue
        if m.kind == "none":
            if m.default is not None and (creating or (
                    current is not None and m.target in current
                    and is_null(current[m.target]))):
                out[m.target] = typed(m.default, m.leaf)
            continue
        value = m.value(obj, ctx)
        if value is IGNORE_FLOW:
            continue
        if is_null(value):
            if m.default is not None:
                value = m.default
            elif m.clear_when_null:
                out[m.target] = None
                continue
            else:
                continue
        value = typed(value, m.leaf)
        if is_null(value) and not m.clear_when_null:
            continue
        out[m.target] = None if is_null(value) else value
    return out
