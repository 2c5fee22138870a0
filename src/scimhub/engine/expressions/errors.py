"""The expression language's errors.

``ExpressionError`` is what a caller catches: a mapping that does not parse (raised by
``parse_expression``) or an object whose attributes a function cannot use (its subclass
``EvaluationError``, raised by ``evaluate``). Both carry the 0-based character position in the
expression text; the mapping loader prefixes the mapping's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

# Defined with the engine's other errors (one EngineError root); re-exported here.
from scimhub.engine.errors import EvaluationError, ExpressionError

if TYPE_CHECKING:
    from scimhub.engine.expressions.ast import Compiled
    from scimhub.engine.expressions.context import EvaluationContext




class FunctionError(ValueError):
    """Raised inside a function; the compiler turns it into an ``EvaluationError`` that names the
    function and its position."""


__all__ = ["EvaluationError", "ExpressionError", "FunctionError", "guard"]


def guard(run: Compiled, function: str, position: int) -> Compiled:
    """``run``, with a ``FunctionError`` (or any ValueError) turned into an ``EvaluationError``
    naming the function and where it is called."""

    def guarded(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        try:
            return run(source, context)
        except (ValueError, OverflowError) as error:
            raise EvaluationError(f"{function}: {error}", position) from None

    return guarded
