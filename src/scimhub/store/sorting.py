"""``sortBy`` (RFC 7644 §3.4.2.3) as an SQL ordering key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table

from scimhub.scim.errors import InvalidValue
from scimhub.scim.paths import AttrPath
from scimhub.scim.resolve import resolve
from scimhub.scim.schema import ResourceType
from scimhub.store.dialects import SqlDialect
from scimhub.store.filter_sql import indexed_columns


def sort_key(
    path: AttrPath, rtype: ResourceType, table: Table, dialect: SqlDialect,
    text_only: bool = False,
) -> ColumnElement[Any]:
    """Strings that are not caseExact sort case-insensitively; multi-valued by primary value.

    ``text_only`` (cursor pagination) refuses keys that are not text, because a
    cursor carries its key as a string.
    """
    resolved = resolve(path, rtype)
    if resolved is None:
        raise InvalidValue(f"Cannot sort by unknown attribute '{path}'")
    if "never" in (resolved.attr.returned, resolved.leaf.returned):
        # Sorting by a value that is never returned (a password hash) would leak its order.
        raise InvalidValue(f"Cannot sort by '{path}', which is never returned")
    if text_only and resolved.leaf.type not in ("string", "reference", "dateTime"):
        raise InvalidValue(f"Cursor pagination cannot sort by '{path}', which is not text")
    column = indexed_columns(table).get(resolved.names)
    if column is not None:
        return dialect.as_text(column.expr) if column.folded else column.expr
    leaf = resolved.leaf
    if resolved.attr.multi_valued:
        sub = resolved.sub or resolved.attr.sub("value")
        keys = resolved.names[:-1] if resolved.sub else resolved.names
        expr = dialect.first_element(table.c.doc, keys, sub)
        leaf = sub or leaf
    elif resolved.attr.type == "complex" and resolved.sub is None:
        raise InvalidValue(f"Cannot sort by complex attribute '{path}'")
    else:
        expr = dialect.scalar(table.c.doc, resolved.names, leaf)
    if leaf.type in ("string", "reference") and not leaf.case_exact:
        return dialect.as_text(dialect.fold(expr))
    return dialect.as_text(expr) if leaf.type in ("string", "reference", "dateTime") else expr
