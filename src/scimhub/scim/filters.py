"""The filter grammar of RFC 7644 §3.4.2.2: AST and parser.

The AST is what every consumer reads: the SQL compiler in ``store``, the
in-memory matcher used by PATCH value filters, and the engine. Values stay as
the JSON literals the client wrote; their meaning (a dateTime, a
case-insensitive string) comes from the schema at the point of use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from scimhub.scim.paths import AttrPath

CompareOp = Literal["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
Literal_ = Union[str, bool, int, float, None]


@dataclass(frozen=True)
class Compare:
    """``attrPath compareOp compValue``; ``value`` None is the literal ``null``."""

    path: AttrPath
    op: CompareOp
    value: Literal_


@dataclass(frozen=True)
class Present:
    """``attrPath pr``."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """``attrPath "[" valFilter "]"``: an element of ``path`` satisfies ``filter``.

    Paths inside ``filter`` name sub-attributes of that element
    (``AttrPath(attr="type")`` in ``emails[type eq "work"]``).
    """

    path: AttrPath
    filter: Filter


Filter = Union[Compare, Present, And, Or, Not, ValuePath]
