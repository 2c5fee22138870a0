"""Compiling the filter AST to SQL, with bound parameters only.

Indexed columns serve the attributes that are filtered and sorted most
(``userName``, ``externalId``, ``displayName``, ``active``, meta dates);
everything else is read from the stored JSON document with the dialect's JSON
functions, and multi-valued attributes become ``EXISTS`` over their elements.
Every predicate is two-valued (true or false, never NULL), so ``not`` means
what a client expects when an attribute is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    exists,
    false,
    literal,
    not_,
    or_,
    select,
    true,
)

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filters import And, Compare, Filter, Not, Or, Present, ValuePath
from scimhub.scim.matching import check_comparison, element_attribute
from scimhub.scim.paths import AttrPath
from scimhub.scim.resolve import Resolved, resolve
from scimhub.scim.resource import format_datetime
from scimhub.scim.schema import Attribute, ResourceType
from scimhub.store.dialects import SqlDialect
from scimhub.store.tables import group_members, groups, users

Expr = ColumnElement[Any]
#: Reads a sub-attribute (or the element itself, for None) of one element.
ElementReader = Callable[[Attribute | None], Expr]


@dataclass(frozen=True)
class Column:
    """An indexed column standing for an attribute; ``folded`` holds casefolded text."""

    expr: Expr
    folded: bool = False


def indexed_columns(table: Table) -> dict[tuple[str, ...], Column]:
    common = {
        ("id",): Column(table.c.id),
        ("externalId",): Column(table.c.external_id),
        ("meta", "created"): Column(table.c.created),
        ("meta", "lastModified"): Column(table.c.last_modified),
    }
    if table is users:
        common[("userName",)] = Column(users.c.user_name_ci, folded=True)
        common[("active",)] = Column(users.c.active)
    else:
        common[("displayName",)] = Column(groups.c.display_name_ci, folded=True)
    return common


class FilterCompiler:
    def __init__(self, rtype: ResourceType, table: Table, dialect: SqlDialect) -> None:
        self.rtype = rtype
        self.table = table
        self.dialect = dialect
        self.columns = indexed_columns(table)

    def compile(self, node: Filter) -> Expr:
        if isinstance(node, And):
            return and_(self.compile(node.left), self.compile(node.right))
        if isinstance(node, Or):
            return or_(self.compile(node.left), self.compile(node.right))
        if isinstance(node, Not):
            return not_(self.compile(node.inner))
        if isinstance(node, ValuePath):
            return self._value_path(node)
        return self._leaf(node)

    def _resolve(self, path: AttrPath) -> Resolved:
        resolved = resolve(path, self.rtype)
        if resolved is None:
            raise InvalidFilter(f"Unknown attribute '{path}' in filter")
        if resolved.leaf.returned == "never":
            raise InvalidFilter(f"'{path}' is never returned and cannot be filtered on")
        return resolved

    def _leaf(self, node: Compare | Present) -> Expr:
        resolved = self._resolve(node.path)
        names = resolved.names
        if names[:2] == ("meta", "resourceType"):
            return _constant(node, self.rtype.name)
        if names[0] == "members" and self.table is groups:
            return self._members(resolved, node)
        if names[0] == "groups" and self.table is users:
            return self._groups_of_user(resolved, node)
        column = self.columns.get(names)
        if column is not None:
            return _predicate(node, resolved.leaf, column.expr, column.folded, self.dialect)
        if resolved.attr.multi_valued:
            return self._multi_valued(resolved, node)
        if resolved.attr.type == "complex" and resolved.sub is None:
            sub = resolved.attr.sub("value")
            if sub is None and isinstance(node, Compare):
                raise InvalidFilter(f"'{node.path}' is complex: compare one of its sub-attributes")
            names = names + (("value",) if sub else ())
            leaf = sub or resolved.attr
            expr = self.dialect.scalar(self.table.c.doc, names, leaf)
            return _predicate(node, leaf, expr, False, self.dialect)
        expr = self.dialect.scalar(self.table.c.doc, names, resolved.leaf)
        return _predicate(node, resolved.leaf, expr, False, self.dialect)

    def _multi_valued(self, resolved: Resolved, node: Compare | Present) -> Expr:
        """Any element matches; except that ``eq null`` means no element has a value, and
        ``ne`` also holds when there is no element at all (as for a single value)."""
        target = resolved.sub or _value_sub(resolved.attr)
        leaf = target or resolved.attr
        if isinstance(node, Compare) and node.value is None:
            if node.op not in ("eq", "ne"):
                raise InvalidFilter(f"'{node.op} null' is not a comparison")
            present = self._any_element(
                resolved, lambda read: self.dialect.present(read(target), leaf))
            return present if node.op == "ne" else not_(present)
        matched = self._any_element(
            resolved, lambda read: _predicate(node, leaf, read(target), False, self.dialect))
        if isinstance(node, Compare) and node.op == "ne":
            return or_(not_(self._any_element(resolved, lambda _read: true())), matched)
        return matched

    def _value_path(self, node: ValuePath) -> Expr:
        resolved = self._resolve(node.path)
        if resolved.sub is not None or not resolved.attr.multi_valued:
            raise InvalidFilter(f"'{node.path}[...]' needs a multi-valued attribute")
        if resolved.names[0] in ("members", "groups") and self.table in (groups, users):
            raise InvalidFilter(f"'{node.path}[...]' is not supported; filter on {node.path}.value")
        parent = resolved.attr
        return self._any_element(resolved, lambda read: self._inner(node.filter, parent, read))

    def _inner(self, node: Filter, parent: Attribute, read: ElementReader) -> Expr:
        if isinstance(node, And):
            return and_(self._inner(node.left, parent, read), self._inner(node.right, parent, read))
        if isinstance(node, Or):
            return or_(self._inner(node.left, parent, read), self._inner(node.right, parent, read))
        if isinstance(node, Not):
            return not_(self._inner(node.inner, parent, read))
        if isinstance(node, ValuePath):
            raise InvalidFilter("A value filter cannot be nested in another")
        sub = element_attribute(parent, node.path)
        target = None if sub is parent else sub
        return _predicate(node, sub, read(target), False, self.dialect)

    def _any_element(self, resolved: Resolved, build: Callable[[ElementReader], Expr]) -> Expr:
        return self.dialect.any_element(self.table.c.doc, resolved.names[:2] if resolved.container
                                        else resolved.names[:1], resolved.attr, build)

    def _members(self, resolved: Resolved, node: Compare | Present) -> Expr:
        gm = group_members.alias("gm")
        sub = resolved.sub.name if resolved.sub else "value"
        if sub == "value":
            target, leaf = gm.c.member_id, resolved.attr.sub("value")
        elif sub == "type":
            target, leaf = gm.c.member_type, resolved.attr.sub("type")
        else:
            raise InvalidFilter(f"Filtering on members.{sub} is not supported")
        assert leaf is not None
        condition = _predicate(node, leaf, target, False, self.dialect)
        return exists(
            select(literal(1)).select_from(gm).where(
                gm.c.tenant_id == groups.c.tenant_id, gm.c.group_id == groups.c.id, condition
            )
        )

    def _groups_of_user(self, resolved: Resolved, node: Compare | Present) -> Expr:
        gm = group_members.alias("gm")
        g = groups.alias("g")
        sub = resolved.sub.name if resolved.sub else "value"
        leaf = resolved.attr.sub(sub)
        assert leaf is not None
        target: Expr
        if sub == "value":
            target = gm.c.group_id
        elif sub == "display":
            target = g.c.display_name
        elif sub == "type":
            target = literal("direct")
        else:
            raise InvalidFilter(f"Filtering on groups.{sub} is not supported")
        condition = _predicate(node, leaf, target, False, self.dialect)
        return exists(
            select(literal(1)).select_from(
                gm.join(g, and_(g.c.tenant_id == gm.c.tenant_id, g.c.id == gm.c.group_id))
            ).where(gm.c.tenant_id == users.c.tenant_id, gm.c.member_id == users.c.id, condition)
        )


def _value_sub(attr: Attribute) -> Attribute | None:
    """Comparing a multi-valued complex attribute compares its ``value``."""
    return attr.sub("value") if attr.type == "complex" else None


def _constant(node: Compare | Present, actual: str) -> Expr:
    if isinstance(node, Present):
        return true()
    if not isinstance(node.value, str):
        raise InvalidFilter("meta.resourceType compares with a string")
    text, other = actual.casefold(), node.value.casefold()
    outcome = {
        "eq": text == other, "ne": text != other, "co": other in text,
        "sw": text.startswith(other), "ew": text.endswith(other),
        "gt": text > other, "ge": text >= other, "lt": text < other, "le": text <= other,
    }[node.op]
    return true() if outcome else false()


def _predicate(
    node: Compare | Present, attr: Attribute, expr: Expr, folded: bool, dialect: SqlDialect
) -> Expr:
    if isinstance(node, Present):
        return dialect.present(expr, attr)
    if node.value is None:
        if node.op not in ("eq", "ne"):
            raise InvalidFilter(f"'{node.op} null' is not a comparison")
        return dialect.present(expr, attr) if node.op == "ne" else not_(dialect.present(expr, attr))
    value = check_comparison(attr, node.op, node.value)
    if isinstance(value, datetime):
        value = format_datetime(value)
    fold = attr.type in ("string", "reference") and not attr.case_exact
    if fold and isinstance(value, str):
        value = value.casefold() if folded else dialect.fold_value(value)
        if not folded:
            expr = dialect.fold(expr)
    compared = _compare(node.op, expr, value, attr, dialect)
    if node.op == "ne":
        return or_(expr.is_(None), compared)
    return and_(expr.is_not(None), compared)


def _compare(op: str, expr: Expr, value: Any, attr: Attribute, dialect: SqlDialect) -> Expr:
    if attr.type == "boolean":
        expr = dialect.as_boolean(expr)
    if op == "eq":
        return cast(Expr, expr == value)
    if op == "ne":
        return cast(Expr, expr != value)
    if op in ("co", "sw", "ew"):
        escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]
        return dialect.as_text(expr).like(pattern, escape="\\")
    text = dialect.as_text(expr) if isinstance(value, str) else expr
    ordered = {"gt": text > value, "ge": text >= value, "lt": text < value, "le": text <= value}
    return cast(Expr, ordered[op])


def indexed_equality(node: Filter, rtype: ResourceType, table: Table) -> tuple[str, str] | None:
    """``column, value`` when ``node`` is ``attr eq "value"`` on an indexed column.

    That is the query Entra sends before every create and Test Connection, so
    it gets prepared statements instead of a compiled filter.
    """
    if not isinstance(node, Compare) or node.op != "eq" or not isinstance(node.value, str):
        return None
    resolved = resolve(node.path, rtype)
    column = indexed_columns(table).get(resolved.names) if resolved else None
    if column is None or resolved is None or resolved.leaf.type != "string":
        return None
    value = node.value.casefold() if column.folded else node.value
    return str(column.expr.name), value
