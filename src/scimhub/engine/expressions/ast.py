"""The parsed form of an expression: a tree of nodes, each knowing where it starts in the text."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from scimhub.engine.expressions.context import EvaluationContext

Operator = Literal["=", "<>", ">", ">=", "<", "<="]


@dataclass(frozen=True, slots=True)
class Constant:
    """A string constant, a number, or a named constant such as ``vbTextCompare``."""

    value: str | int
    position: int


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class Omitted:
    """An empty argument, as in ``Switch([IsSoftDeleted], , "False", "True", ...)``."""

    position: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left op right``, allowed as a function argument (IIF's condition, CBool's expression)."""

    operator: Operator
    left: Node
    right: Node
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; ``name`` is the documented spelling, whatever case the text used."""

    name: str
    args: tuple[Node, ...]
    position: int


Node = Constant | Attribute | Omitted | Comparison | Call
Compiled = Callable[[Mapping[str, Any], "EvaluationContext"], Any]


def walk(node: Node) -> Iterator[Node]:
    """The node and every node under it, depth first."""
    yield node
    if isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, Comparison):
        yield from walk(node.left)
        yield from walk(node.right)


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed and compiled expression. ``redacted`` is true when it uses ``Redact`` anywhere."""

    text: str
    root: Node
    run: Compiled = field(repr=False, compare=False)
    redacted: bool = False
