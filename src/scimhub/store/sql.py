"""Running SQLAlchemy Core statements on the DBAPI cursor.

Statements are written with SQLAlchemy Core (so one definition serves SQLite
and PostgreSQL) but executed directly on the driver's cursor: a prepared
statement is compiled once per dialect, and a request then costs what the
driver costs. Building and compiling a Core statement for every request was
most of the server's CPU time; bound parameters are still the only way a
value reaches SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Prepared:
    sql: str
    #: Parameter names in placeholder order, for positional paramstyles.
    order: list[str] | None
    #: Values of binds that the statement carries itself (literals such as ``+ 1``).
    defaults: dict[str, Any]
    #: Kept alive, because its id() is the cache key.
    stmt: ClauseElement

    def arrange(self, params: Mapping[str, Any]) -> Any:
        merged = {**self.defaults, **params} if self.defaults else params
        return merged if self.order is None else tuple(merged[name] for name in self.order)


class Compiler:
    """Compiles statements for one dialect; prepared ones only once."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.positional = dialect.paramstyle in ("qmark", "numeric", "format")
        self._prepared: dict[int, Prepared] = {}

    def prepared(self, stmt: ClauseElement) -> Prepared:
        """A statement whose parameters are named bindparams, compiled once."""
        found = self._prepared.get(id(stmt))
        if found is None:
            compiled: Any = stmt.compile(dialect=self.dialect)
            order = list(compiled.positiontup or []) if self.positional else None
            found = Prepared(str(compiled), order, dict(compiled.params), stmt)
            self._prepared[id(stmt)] = found
        return found

    def dynamic(self, stmt: ClauseElement) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
        """SQL and parameters of a one-off statement whose values are embedded as binds."""
        compiled: Any = stmt.compile(
            dialect=self.dialect, compile_kwargs={"render_postcompile": True}
        )
        params = compiled.params
        if self.positional:
            return str(compiled), [params[name] for name in compiled.positiontup or []]
        return str(compiled), params


class Tx:
    """One transaction on one DBAPI connection."""

    def __init__(self, cursor: Any, compiler: Compiler) -> None:
        self.cursor = cursor
        self.compiler = compiler

    def execute(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> Any:
        """Run a prepared statement with ``params``, or a dynamic one without."""
        if params is None:
            sql, values = self.compiler.dynamic(stmt)
            self.cursor.execute(sql, values)
        else:
            prepared = self.compiler.prepared(stmt)
            self.cursor.execute(prepared.sql, prepared.arrange(params))
        return self.cursor

    def execute_many(self, stmt: ClauseElement, rows: Iterable[Mapping[str, Any]]) -> None:
        prepared = self.compiler.prepared(stmt)
        self.cursor.executemany(prepared.sql, [prepared.arrange(r) for r in rows])

    def all(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> list[Row]:
        return list(self.execute(stmt, params).fetchall())

    def first(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> Row | None:
        row = self.execute(stmt, params).fetchone()
        return tuple(row) if row is not None else None

    def scalar(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> Any:
        row = self.first(stmt, params)
        return row[0] if row is not None else None

    def rowcount(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> int:
        return int(self.execute(stmt, params).rowcount)


def dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def load_json(value: Any) -> Any:
    """SQLite hands back JSON text; psycopg has already parsed JSONB."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value
