"""Entra ID's expression language for attribute mappings.

``parse_expression`` once per mapping, ``evaluate`` once per object::

    upn = parse_expression('Join("@", NormalizeDiacritics([givenName]), "contoso.com")')
    evaluate(upn, {"givenName": "Zoë"}, EvaluationContext(now, random.SystemRandom()))
    # 'Zoe@contoso.com'
"""

from scimhub.engine.expressions.ast import Expression
from scimhub.engine.expressions.context import EvaluationContext
from scimhub.engine.expressions.errors import EvaluationError, ExpressionError
from scimhub.engine.expressions.evaluate import evaluate
from scimhub.engine.expressions.functions import FUNCTIONS
from scimhub.engine.expressions.parser import MAX_LENGTH, parse_expression
from scimhub.engine.expressions.values import IGNORE_FLOW, Redacted

__all__ = [
    "FUNCTIONS",
    "IGNORE_FLOW",
    "MAX_LENGTH",
    "EvaluationContext",
    "EvaluationError",
    "Expression",
    "ExpressionError",
    "Redacted",
    "evaluate",
    "parse_expression",
]
