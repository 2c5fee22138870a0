"""Entra ID's expression language for attribute mappings.

``parse_expression`` once per mapping, ``evaluate`` once per object::

    upn = parse_expression('Join("@", NormalizeDiacritics([givenName]), "contoso.com")')
    evaluate(upn, {"givenName": "Zoë"}, EvaluationContext(now, random.SystemRandom()))
    # 'Zoe@contoso.com'
"""

from scimhub.provisioning.expressions.ast import Expression
from scimhub.provisioning.expressions.context import EvaluationContext
from scimhub.provisioning.expressions.errors import EvaluationError, ExpressionError
from scimhub.provisioning.expressions.evaluate import evaluate
from scimhub.provisioning.expressions.functions import FUNCTIONS
from scimhub.provisioning.expressions.parser import MAX_LENGTH, parse_expression
from scimhub.provisioning.expressions.values import IGNORE_FLOW, Redacted

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
