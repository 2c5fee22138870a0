"""Evaluating a parsed expression against one directory object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scimhub.engine.expressions.ast import Expression
from scimhub.engine.expressions.context import EvaluationContext
from scimhub.engine.expressions.values import (
    IGNORE_FLOW,
    IgnoreFlowSignal,
    Redacted,
    output,
)


def evaluate(expr: Expression, source: Mapping[str, Any], ctx: EvaluationContext) -> Any:
    """The value of ``expr`` for the object ``source`` (Entra source attribute names).

    Returns ``None`` for null (not provisioned), ``IGNORE_FLOW`` when IgnoreFlowIfNullOrEmpty
    drops the attribute, a ``Redacted`` wrapper when the expression uses Redact, else a str,
    bool, int, list or role dict; dates come back as Entra's ``M/d/yyyy h:mm:ss tt`` strings.
    Raises ``EvaluationError`` when a function cannot use the object's values.
    """
    try:
        value = output(expr.run(source, ctx))
    except IgnoreFlowSignal:
        return IGNORE_FLOW
    if expr.redacted and value is not None:
        return Redacted(value)
    return value
