"""What differs between SQLite and PostgreSQL when reading stored JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Numeric,
    and_,
    cast,
    column,
    exists,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from scimhub.scim.schema import Attribute

Expr = ColumnElement[Any]
ElementReader = Callable[[Attribute | None], Expr]


class SqlDialect(Protocol):
    def scalar(self, doc: Expr, names: tuple[str, ...], attr: Attribute) -> Expr: ...

    def any_element(
        self,
        doc: Expr,
        names: tuple[str, ...],
        attr: Attribute,
        build: Callable[[ElementReader], Expr],
    ) -> Expr: ...

    def first_element(self, doc: Expr, names: tuple[str, ...], sub: Attribute | None) -> Expr: ...

    def present(self, expr: Expr, attr: Attribute) -> Expr: ...

    def fold(self, expr: Expr) -> Expr: ...

    def fold_value(self, value: str) -> str: ...

    def as_boolean(self, expr: Expr) -> Expr: ...

    def as_text(self, expr: Expr) -> Expr: ...


def _json_path(names: tuple[str, ...]) -> str:
    quoted = ".".join('"' + n.replace('"', '\\"') + '"' for n in names)
    return f"$.{quoted}"


class _JsonDialect:
    """What both dialects do alike; stored JSON is canonical, so presence and booleans read
    the same way on each."""

    def present(self, expr: Expr, attr: Attribute) -> Expr:
        if attr.type in ("string", "reference", "binary"):
            return and_(expr.is_not(None), expr != "")
        return expr.is_not(None)

    def as_boolean(self, expr: Expr) -> Expr:
        return expr


class SQLiteDialect(_JsonDialect):
    """JSON1 functions; ``scim_fold`` is a Python casefold registered per connection."""

    def scalar(self, doc: Expr, names: tuple[str, ...], attr: Attribute) -> Expr:
        return func.json_extract(doc, _json_path(names))

    def any_element(
        self,
        doc: Expr,
        names: tuple[str, ...],
        attr: Attribute,
        build: Callable[[ElementReader], Expr],
    ) -> Expr:
        each = func.json_each(doc, _json_path(names)).table_valued("value").alias()

        def read(sub: Attribute | None) -> Expr:
            if sub is None:
                return each.c.value
            return func.json_extract(each.c.value, _json_path((sub.name,)))

        return exists(select(literal(1)).select_from(each).where(build(read)))

    def first_element(self, doc: Expr, names: tuple[str, ...], sub: Attribute | None) -> Expr:
        """RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value."""
        each = func.json_each(doc, _json_path(names)).table_valued("value").alias()
        value = each.c.value if sub is None else func.json_extract(
            each.c.value, _json_path((sub.name,))
        )
        primary = func.coalesce(func.json_extract(each.c.value, '$."primary"'), 0)
        return (
            select(value).select_from(each).order_by(primary.desc()).limit(1).scalar_subquery()
        )

    def fold(self, expr: Expr) -> Expr:
        return func.scim_fold(expr)

    def fold_value(self, value: str) -> str:
        return value.casefold()

    def as_text(self, expr: Expr) -> Expr:
        return expr


def _typed(text: Expr, attr: Attribute | None) -> Expr:
    """JSON text as the SQL type of ``attr``, so comparisons are by type, not by text."""
    kind = attr.type if attr is not None else "string"
    if kind == "boolean":
        return cast(text, Boolean)
    if kind in ("integer", "decimal"):
        return cast(text, Numeric)
    return text


class PostgresDialect(_JsonDialect):
    """JSONB functions. Text compares in the "C" collation, as SQLite compares bytes."""

    def scalar(self, doc: Expr, names: tuple[str, ...], attr: Attribute) -> Expr:
        return _typed(func.jsonb_extract_path_text(doc, *names), attr)

    def _elements(self, doc: Expr, names: tuple[str, ...]) -> Any:
        return func.jsonb_array_elements(func.jsonb_extract_path(doc, *names)).table_valued(
            column("value", JSONB)).alias()

    def _read(self, each: Any, sub: Attribute | None, attr: Attribute) -> Expr:
        if sub is None:
            return _typed(each.c.value.op("#>>")(literal_column("'{}'")), attr)
        return _typed(func.jsonb_extract_path_text(each.c.value, sub.name), sub)

    def any_element(
        self,
        doc: Expr,
        names: tuple[str, ...],
        attr: Attribute,
        build: Callable[[ElementReader], Expr],
    ) -> Expr:
        each = self._elements(doc, names)
        return exists(select(literal(1)).select_from(each).where(
            build(lambda sub: self._read(each, sub, attr))))

    def first_element(self, doc: Expr, names: tuple[str, ...], sub: Attribute | None) -> Expr:
        """RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value."""
        each = self._elements(doc, names)
        primary = func.coalesce(cast(func.jsonb_extract_path_text(each.c.value, "primary"),
                                     Boolean), False)
        value = self._read(each, sub, sub) if sub is not None else each.c.value.op("#>>")(
            literal_column("'{}'"))
        return (
            select(value).select_from(each).order_by(primary.desc()).limit(1).scalar_subquery()
        )

    def fold(self, expr: Expr) -> Expr:
        return func.lower(expr)

    def fold_value(self, value: str) -> str:
        return value.lower()

    def as_text(self, expr: Expr) -> Expr:
        return expr.collate("C")


def dialect_for(is_sqlite: bool) -> SqlDialect:
    return SQLiteDialect() if is_sqlite else PostgresDialect()
