"""Comparisons, IIF and Switch.

A comparison (``[country]="USA"``, ``DateDiff(...) > 5``) is false when either side is null or
empty. Two numbers compare as numbers, two dates as dates, anything else as case-sensitive
(ordinal) strings, booleans as ``"True"``/``"False"``. A number against a string compares as
numbers when the string is a whole number, as strings otherwise (VBA's rule).

IIF: "If the source attribute used within the IIF function is empty or null, the condition
check fails" — so when any attribute the condition reads is null or empty, IIF returns
valueIfFalse, whatever the condition says (that is why ``IIF(IsNullOrEmpty([country]), "Other",
[country])`` is listed as unsupported). A condition that is not a comparison is true when it
evaluates to True, ``"True"`` or a non-zero number.

Switch compares strings case-sensitively; a null source matches the key ``""`` (the doc's
workaround ``Switch([country],[country],"","Other")`` relies on it). An omitted defaultValue is
null. Entra's documented Switch defect (evaluating to null on delta updates that did not touch
its source) is not reproduced: it needs change tracking, and it is a defect.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from scimhub.engine.expressions.ast import (
    Attribute,
    Call,
    Comparison,
    Compiled,
    Constant,
    walk,
)
from scimhub.engine.expressions.context import EvaluationContext
from scimhub.engine.expressions.dates import to_datetime
from scimhub.engine.expressions.errors import FunctionError, guard
from scimhub.engine.expressions.values import is_empty, lookup, to_bool, to_int, to_str

_TESTS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "=": operator.eq,
    "<>": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def compile_comparison(node: Comparison, left: Compiled, right: Compiled) -> Compiled:
    test = _TESTS[node.operator]

    def compare(source: Mapping[str, Any], context: EvaluationContext) -> bool:
        a, b = left(source, context), right(source, context)
        if is_empty(a) or is_empty(b):
            return False
        return test(*comparable(a, b))

    return guard(compare, f"'{node.operator}'", node.position)


def comparable(a: Any, b: Any) -> tuple[Any, Any]:
    try:
        if isinstance(a, datetime) or isinstance(b, datetime):
            return to_datetime(a), to_datetime(b)
        if _is_number(a) or _is_number(b):
            return to_int(a), to_int(b)
    except FunctionError:
        pass
    return to_str(a), to_str(b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def compile_iif(node: Call, args: tuple[Compiled, ...]) -> Compiled:
    condition, if_true, if_false = args
    read = tuple(dict.fromkeys(n.name for n in walk(node.args[0]) if isinstance(n, Attribute)))

    def iif(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        if any(is_empty(lookup(source, name)) for name in read):
            return if_false(source, context)
        if to_bool(condition(source, context)):
            return if_true(source, context)
        return if_false(source, context)

    return guard(iif, "IIF", node.position)


def compile_switch(node: Call, args: tuple[Compiled, ...]) -> Compiled:
    source_value, default = args[0], args[1]
    keys, values = node.args[2::2], args[3::2]
    if all(isinstance(key, Constant) for key in keys):
        run = _switch_table(source_value, default, keys, values)
    else:
        run = _switch_scan(source_value, default, args[2::2], values)
    return guard(run, "Switch", node.position)


def _switch_table(
    source_value: Compiled, default: Compiled, keys: tuple[Any, ...], values: tuple[Compiled, ...]
) -> Compiled:
    table: dict[str | None, Compiled] = {}
    for key, value in zip(keys, values, strict=True):
        table.setdefault(to_str(key.value), value)

    def switch(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        branch = table.get(to_str(source_value(source, context)) or "", default)
        return branch(source, context)

    return switch


def _switch_scan(
    source_value: Compiled,
    default: Compiled,
    keys: tuple[Compiled, ...],
    values: tuple[Compiled, ...],
) -> Compiled:
    def switch(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        wanted = to_str(source_value(source, context)) or ""
        for key, value in zip(keys, values, strict=True):
            if (to_str(key(source, context)) or "") == wanted:
                return value(source, context)
        return default(source, context)

    return switch
