"""The filter grammar of RFC 7644 §3.4.2.2: the AST (``filter_parser`` builds it).

The AST is what every consumer reads: the SQL compiler in ``store``, the
in-memory matcher used by PATCH value filters, and the engine. Values stay as
the JSON literals the client wrote; their meaning (a dateTime, a
case-insensitive string) comes from the schema at the point of use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from scimhub.scim.paths import AttrPath

CompareOp = Literal["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
Literal_ = str | bool | int | float | None


@dataclass(frozen=True)
class Compare:
    """``attrPath compareOp compValue``; ``value`` None is the literal ``null``."""

    path: AttrPath
    op: CompareOp
    value: Literal_

    def __str__(self) -> str:
        return f"{self.path} {self.op} {json.dumps(self.value, ensure_ascii=False)}"


@dataclass(frozen=True)
class Present:
    """``attrPath pr``."""

    path: AttrPath

    def __str__(self) -> str:
        return f"{self.path} pr"


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter

    def __str__(self) -> str:
        # Left-associative: only a right-hand And, or an Or on either side, needs parentheses.
        left = _grouped(self.left, Or)
        return f"{left} and {_grouped(self.right, (And, Or))}"


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter

    def __str__(self) -> str:
        return f"{self.left} or {_grouped(self.right, Or)}"


@dataclass(frozen=True)
class Not:
    inner: Filter

    def __str__(self) -> str:
        return f"not ({self.inner})"


@dataclass(frozen=True)
class ValuePath:
    """``attrPath "[" valFilter "]"``: an element of ``path`` satisfies ``filter``.

    Paths inside ``filter`` name sub-attributes of that element
    (``AttrPath(attr="type")`` in ``emails[type eq "work"]``).
    """

    path: AttrPath
    filter: Filter

    def __str__(self) -> str:
        return f"{self.path}[{self.filter}]"


Filter = Compare | Present | And | Or | Not | ValuePath


def _grouped(node: Filter, kinds: type | tuple[type, ...]) -> str:
    """Parenthesise ``node`` when it binds more loosely than its position requires."""
    return f"({node})" if isinstance(node, kinds) else str(node)
