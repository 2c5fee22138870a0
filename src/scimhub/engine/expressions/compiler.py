"""Turns a parsed expression into nested closures, once per mapping.

Evaluating then costs one Python call per node and no dispatch on node types; a function with
one to three arguments is called without building an argument list. Constant arguments are
validated here (an unknown DateAdd interval, a Replace pattern that does not compile), so that a
mapping that can never work fails when it is loaded rather than on every user.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from scimhub.engine.expressions.ast import (
    Attribute,
    Call,
    Comparison,
    Compiled,
    Constant,
    Node,
    Omitted,
)
from scimhub.engine.expressions.conditions import (
    compile_comparison,
    compile_iif,
    compile_switch,
)
from scimhub.engine.expressions.context import EvaluationContext
from scimhub.engine.expressions.errors import (
    EvaluationError,
    ExpressionError,
    FunctionError,
)
from scimhub.engine.expressions.functions import FUNCTIONS, Function
from scimhub.engine.expressions.replace import compile_replace
from scimhub.engine.expressions.values import lookup

_MISSING: Final = object()
_SPECIAL: Final[Mapping[str, Callable[[Call, tuple[Compiled, ...]], Compiled]]] = {
    "IIF": compile_iif,
    "Switch": compile_switch,
    "Replace": compile_replace,
}


def compile_node(node: Node, *, top: bool = True) -> Compiled:
    if isinstance(node, Constant):
        return _constant(node.value)
    if isinstance(node, Omitted):
        return _constant(None)
    if isinstance(node, Attribute):
        return _attribute(node.name)
    if isinstance(node, Comparison):
        left = compile_node(node.left, top=False)
        return compile_comparison(node, left, compile_node(node.right, top=False))
    return _call(node, top)


def _constant(value: Any) -> Compiled:
    return lambda source, context: value


def _attribute(name: str) -> Compiled:
    def attribute(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        value = source.get(name, _MISSING)
        return lookup(source, name) if value is _MISSING else value

    return attribute


def _call(node: Call, top: bool) -> Compiled:
    function = FUNCTIONS[node.name.lower()]
    if function.name == "SelectUniqueValue" and not top:
        raise ExpressionError("SelectUniqueValue must be the whole expression", node.position)
    _check_constants(function, node)
    args = tuple(compile_node(arg, top=False) for arg in node.args)
    special = _SPECIAL.get(function.name)
    if special is not None:
        return special(node, args)
    return _strict(function, node.position, args)


def _check_constants(function: Function, node: Call) -> None:
    for index, check in function.checks.items():
        arg = node.args[index] if index < len(node.args) else None
        if isinstance(arg, Constant):
            try:
                check(arg.value)
            except FunctionError as error:
                message = f"{function.name}: {function.param(index)}: {error}"
                raise ExpressionError(message, arg.position) from None


def _strict(function: Function, position: int, args: tuple[Compiled, ...]) -> Compiled:
    """A call that evaluates every argument, then the function."""
    impl = function.impl
    assert impl is not None, function.name
    name = function.name

    def fail(error: Exception) -> EvaluationError:
        return EvaluationError(f"{name}: {error}", position)

    if function.context:

        def call_with_context(source: Mapping[str, Any], context: EvaluationContext) -> Any:
            try:
                return impl(context, *[arg(source, context) for arg in args])
            except (ValueError, OverflowError) as error:
                raise fail(error) from None

        return call_with_context
    if len(args) == 1:
        (a,) = args

        def call1(source: Mapping[str, Any], context: EvaluationContext) -> Any:
            try:
                return impl(a(source, context))
            except (ValueError, OverflowError) as error:
                raise fail(error) from None

        return call1
    if len(args) == 2:
        a, b = args

        def call2(source: Mapping[str, Any], context: EvaluationContext) -> Any:
            try:
                return impl(a(source, context), b(source, context))
            except (ValueError, OverflowError) as error:
                raise fail(error) from None

        return call2
    if len(args) == 3:
        a, b, c = args

        def call3(source: Mapping[str, Any], context: EvaluationContext) -> Any:
            try:
                return impl(a(source, context), b(source, context), c(source, context))
            except (ValueError, OverflowError) as error:
                raise fail(error) from None

        return call3

    def call(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        try:
            return impl(*[arg(source, context) for arg in args])
        except (ValueError, OverflowError) as error:
            raise fail(error) from None

    return call
