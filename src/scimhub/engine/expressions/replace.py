"""Replace: its five documented modes, chosen at parse time from the arguments that are given.

``Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
replacementAttributeName, template)``, where "given" means not left empty (an empty string
constant ``""`` is given). Exactly these combinations are accepted; any other is a parse error:

1. oldValue, replacementValue: every oldValue in source becomes replacementValue;
2. oldValue, template: every oldValue in template becomes source;
3. regexPattern, replacementValue: each match becomes replacementValue, with .NET's ``$1`` /
   ``${name}`` substitutions;
4. regexPattern, regexGroupName, replacementValue: in each match, the group's text becomes
   replacementValue;
5. regexPattern, regexGroupName, replacementAttributeName: source if it has a value, else the
   group's text in the first match of the pattern in replacementAttributeName (null if none).

Comparisons are case-sensitive. A constant pattern is compiled once, here; a pattern from an
attribute is compiled on first use and cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from scimhub.engine.expressions.ast import Call, Compiled, Constant, Omitted
from scimhub.engine.expressions.context import EvaluationContext
from scimhub.engine.expressions.errors import ExpressionError, FunctionError, guard
from scimhub.engine.expressions.netregex import compile_pattern, expander, parse_replacement
from scimhub.engine.expressions.values import is_empty, to_str

PARAMS: Final = (
    "source",
    "oldValue",
    "regexPattern",
    "regexGroupName",
    "replacementValue",
    "replacementAttributeName",
    "template",
)
Pattern = Callable[[Mapping[str, Any], EvaluationContext], "re.Pattern[str] | None"]
Mode = Callable[[dict[str, Compiled], Pattern], Compiled]


def compile_replace(node: Call, args: tuple[Compiled, ...]) -> Compiled:
    given = frozenset(
        PARAMS[i] for i, arg in enumerate(node.args) if i > 0 and not isinstance(arg, Omitted)
    )
    mode = _MODES.get(given)
    if mode is None:
        raise ExpressionError(
            "Replace needs exactly one of these argument sets besides source: "
            + "; ".join(", ".join(sorted(names, key=PARAMS.index)) for names in _MODES)
            + f" (got: {', '.join(sorted(given, key=PARAMS.index)) or 'none'})",
            node.position,
        )
    arg = dict(zip(PARAMS, args, strict=False))
    constant = _constant_pattern(node)
    if constant is not None and isinstance(node.args[3], Constant):
        _check_group(constant, node.args[3])
    return guard(mode(arg, _pattern(arg, constant)), "Replace", node.position)


def _constant_pattern(node: Call) -> re.Pattern[str] | None:
    argument = node.args[2] if len(node.args) > 2 else None
    if not isinstance(argument, Constant):
        return None
    try:
        return compile_pattern(str(argument.value))
    except FunctionError as error:
        raise ExpressionError(f"Replace: {error}", argument.position) from None


def _pattern(arg: dict[str, Compiled], constant: re.Pattern[str] | None) -> Pattern:
    if constant is not None:
        return lambda source, context: constant
    value = arg.get("regexPattern")
    if value is None:
        return lambda source, context: None

    def pattern(source: Mapping[str, Any], context: EvaluationContext) -> re.Pattern[str] | None:
        text = to_str(value(source, context))
        return None if text is None else compile_pattern(text)

    return pattern


def _check_group(pattern: re.Pattern[str], group: Constant) -> None:
    if _group_key(group.value) not in _groups(pattern):
        raise ExpressionError(
            f"Replace: the regular expression has no group '{group.value}'", group.position
        )


def _groups(pattern: re.Pattern[str]) -> set[str | int]:
    return {*pattern.groupindex, *range(pattern.groups + 1)}


def _group_key(name: Any) -> str | int:
    text = str(name)
    return int(text) if text.isdigit() else text


def _replace_value(arg: dict[str, Compiled], pattern: Pattern) -> Compiled:
    source_value, old, new = arg["source"], arg["oldValue"], arg["replacementValue"]

    def replace(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        text, wanted = to_str(source_value(source, context)), to_str(old(source, context))
        if text is None or not wanted:
            return text
        return text.replace(wanted, to_str(new(source, context)) or "")

    return replace


def _fill_template(arg: dict[str, Compiled], pattern: Pattern) -> Compiled:
    source_value, old, template = arg["source"], arg["oldValue"], arg["template"]

    def replace(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        text = to_str(source_value(source, context))
        frame, wanted = to_str(template(source, context)), to_str(old(source, context))
        if text is None or frame is None or not wanted:
            return None if text is None else frame
        return frame.replace(wanted, text)

    return replace


def _regex_replace(arg: dict[str, Compiled], pattern: Pattern) -> Compiled:
    source_value, new = arg["source"], arg["replacementValue"]

    def replace(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        text, regex = to_str(source_value(source, context)), pattern(source, context)
        if text is None or regex is None:
            return text
        replacement = parse_replacement(to_str(new(source, context)) or "")
        return regex.sub(expander(regex, replacement), text)

    return replace


def _regex_group_replace(arg: dict[str, Compiled], pattern: Pattern) -> Compiled:
    source_value, group_name = arg["source"], arg["regexGroupName"]
    new = arg["replacementValue"]

    def replace(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        text, regex = to_str(source_value(source, context)), pattern(source, context)
        if text is None or regex is None:
            return text
        group = _group(regex, group_name(source, context))
        expand = expander(regex, parse_replacement(to_str(new(source, context)) or ""))

        def in_group(match: re.Match[str]) -> str:
            start, end = match.span(group)
            if start < 0:
                return match[0]
            base = match.start()
            return match[0][: start - base] + expand(match) + match[0][end - base :]

        return regex.sub(in_group, text)

    return replace


def _regex_extract(arg: dict[str, Compiled], pattern: Pattern) -> Compiled:
    source_value, group_name = arg["source"], arg["regexGroupName"]
    fallback = arg["replacementAttributeName"]

    def replace(source: Mapping[str, Any], context: EvaluationContext) -> Any:
        value = source_value(source, context)
        if not is_empty(value):
            return value
        text, regex = to_str(fallback(source, context)), pattern(source, context)
        if text is None or regex is None:
            return None
        match = regex.search(text)
        return None if match is None else match[_group(regex, group_name(source, context))]

    return replace


def _group(regex: re.Pattern[str], name: Any) -> str | int:
    group = _group_key(to_str(name) or "")
    if group not in _groups(regex):
        raise FunctionError(f"the regular expression has no group '{name}'")
    return group


_MODES: Final[Mapping[frozenset[str], Mode]] = {
    frozenset({"oldValue", "replacementValue"}): _replace_value,
    frozenset({"oldValue", "template"}): _fill_template,
    frozenset({"regexPattern", "replacementValue"}): _regex_replace,
    frozenset({"regexPattern", "regexGroupName", "replacementValue"}): _regex_group_replace,
    frozenset({"regexPattern", "regexGroupName", "replacementAttributeName"}): _regex_extract,
}
