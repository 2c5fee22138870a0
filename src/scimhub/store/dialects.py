"""What differs between SQLite and PostgreSQL when reading stored JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, exists, func, literal, select

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

    def as_boolean(self, expr: Expr) -> Expr: ...

    def as_text(self, expr: Expr) -> Expr: ...


def _json_path(names: tuple[str, ...]) -> str:
    quoted = ".".join('"' + n.replace('"', '\\"') + '"' for n in names)
    return f"$.{quoted}"


class SQLiteDialect:
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

    def present(self, expr: Expr, attr: Attribute) -> Expr:
        if attr.type in ("string", "reference", "binary"):
            return and_(expr.is_not(None), expr != "")
        return expr.is_not(None)

    def fold(self, expr: Expr) -> Expr:
        return func.scim_fold(expr)

    def as_boolean(self, expr: Expr) -> Expr:
        return expr

    def as_text(self, expr: Expr) -> Expr:
        return expr


def dialect_for(is_sqlite: bool) -> SqlDialect:
    if is_sqlite:
        return SQLiteDialect()
    raise NotImplementedError("PostgreSQL arrives with issue #3")
