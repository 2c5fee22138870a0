"""Attribute mappings: what each target attribute gets from a source object.

A mapping is direct (a source attribute), constant, or an Entra expression; it
applies always or only on create; it may carry a default for nulls (create
only) and a matching precedence. Everything is parsed and checked when a job
loads, so a typo is an error naming the mapping and the position, never a
failure in the middle of a cycle.
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
from scimhub.scim.errors import ScimError
from scimhub.scim.filter_parser import parse_patch_path
from scimhub.scim.paths import PatchPath
from scimhub.scim.resolve import resolve
from scimhub.scim.schema import Attribute, ResourceType

Kind = Literal["direct", "constant", "expression"]
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

    @property
    def is_reference(self) -> bool:
        """manager (and group members) hold source ids that become target ids later."""
        return self.target.lower() == MANAGER.lower() or self.target.lower() == "manager"

    def value(self, obj: MappingType[str, Any], ctx: EvaluationContext) -> Any:
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
    kinds = [k for k in ("source", "constant", "expression") if k in raw]
    if len(kinds) != 1:
        raise MappingError(f"{label}: give exactly one of 'source', 'constant' or 'expression'")
    apply = raw.get("apply", "always")
    if apply not in ("always", "create"):
        raise MappingError(f"{label}: 'apply' is 'always' or 'create', not {apply!r}")
    path, leaf = _target_path(target, rtype, label)
    expression = None
    if kinds[0] == "expression":
        try:
            expression = parse_expression(str(raw["expression"]))
        except ExpressionError as exc:
            raise MappingError(f"{label}: expression {exc}") from None
    match = raw.get("match")
    if match is not None and (not isinstance(match, int) or isinstance(match, bool) or match < 1):
        raise MappingError(f"{label}: 'match' is a precedence, 1 for the first")
    kind: Kind = "direct" if kinds[0] == "source" else kinds[0]  # type: ignore[assignment]
    return AttributeMapping(
        target=target, kind=kind, source=str(raw.get(kinds[0], "")) if kind != "expression"
        else "", expression=expression, only_on_create=apply == "create",
        default=raw.get("default"), match=match, path=path, leaf=leaf,
    )


def _target_path(target: str, rtype: ResourceType, label: str) -> tuple[PatchPath, Attribute]:
    try:
        path = parse_patch_path(target)
    except ScimError as exc:
        raise MappingError(f"{label}: not a SCIM attribute path: {exc.detail}") from None
    resolved = resolve(path.attr, rtype)
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


def desired_attributes(
    mappings: Sequence[AttributeMapping], obj: MappingType[str, Any], ctx: EvaluationContext,
    creating: bool,
) -> dict[str, Any]:
    """Target attribute → value for one object; None means "clear it" (never sent on create)."""
    out: dict[str, Any] = {}
    for m in mappings:
        if m.only_on_create and not creating:
            continue
        value = m.value(obj, ctx)
        if value is IGNORE_FLOW:
            continue
        if (value is None or value == "") and creating and m.default is not None:
            value = m.default
        out[m.target] = typed(value, m.leaf)
    return out
