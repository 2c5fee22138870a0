"""The function table: every function of Microsoft's reference, with its documented parameters.

A parameter whose name ends in ``?`` is optional: it may be left empty (``Switch([x], , ...)``)
and, at the end of the list, left out. The last ``repeat`` parameters may repeat (Join's sources,
Switch's key/value pairs). ``checks`` validate an argument at parse time when it is a constant
(an unknown DateAdd interval, a malformed date format). A function without ``impl`` is compiled
by ``compiler.py`` (IIF, Switch and Replace, which look at their arguments unevaluated).

Names are matched case-insensitively and normalised to the spelling below: Microsoft calls the
syntax case-sensitive, but an expression that differs only in a function name's case has one
possible meaning, and rejecting it would only turn a working Entra mapping into an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from scimhub.engine.expressions import dates, roles, text
from scimhub.engine.expressions.datetimes import check_format, parse_styles
from scimhub.engine.expressions.values import IgnoreFlowSignal, is_empty, to_int

Check = Callable[[Any], object]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple[str, ...]
    impl: Callable[..., Any] | None = None
    repeat: int = 0
    context: bool = False  # impl takes the EvaluationContext first
    checks: Mapping[int, Check] = field(default_factory=dict)

    def accepts(self, count: int) -> bool:
        if self.repeat:
            return count >= len(self.params) and (count - len(self.params)) % self.repeat == 0
        required = [i + 1 for i, param in enumerate(self.params) if not param.endswith("?")]
        return max(required, default=0) <= count <= len(self.params)

    def param(self, index: int) -> str:
        """The name of the parameter at ``index``, without its ``?``."""
        if index >= len(self.params):
            first_repeated = len(self.params) - self.repeat
            index = first_repeated + (index - len(self.params)) % self.repeat
        return self.params[index].removesuffix("?")

    def optional(self, index: int) -> bool:
        return index < len(self.params) and self.params[index].endswith("?")

    @property
    def signature(self) -> str:
        names = [f"[{p[:-1]}]" if p.endswith("?") else p for p in self.params]
        return f"{self.name}({', '.join([*names, '...'] if self.repeat else names)})"


def _coalesce(*sources: Any) -> Any:
    return next((source for source in sources if source is not None), None)


def _select_unique_value(*rules: Any) -> Any:
    """The first rule with a value. Entra also checks that the value is unused in the target
    directory; that needs the target, which an expression does not see."""
    return next((rule for rule in rules if not is_empty(rule)), None)


def _ignore_flow_if_null_or_empty(value: Any) -> Any:
    if is_empty(value):
        raise IgnoreFlowSignal
    return value


def _redact(value: Any) -> Any:
    """The value itself: an expression that uses Redact anywhere is redacted as a whole."""
    return value


_INTERVAL: Final = {0: dates.check_interval}
_ONE_VALUE: Final = ("source",)
_ROLES: Final = ("[appRoleAssignments]",)
_TABLE: Final = (
    Function("Append", ("source", "suffix"), text.append),
    Function("AppRoleAssignmentsComplex", _ROLES, roles.app_role_assignments_complex),
    Function("BitAnd", ("value1", "value2"), text.bit_and, checks={0: to_int, 1: to_int}),
    Function("CBool", ("Expression",), text.cbool),
    Function("CDate", ("expression",), dates.cdate, checks={0: dates.to_datetime}),
    Function("Coalesce", ("source",), _coalesce, repeat=1),
    Function("ConvertToBase64", _ONE_VALUE, text.convert_to_base64),
    Function("ConvertToUTF8Hex", _ONE_VALUE, text.convert_to_utf8_hex),
    Function("Count", ("attribute",), text.count),
    Function("CStr", ("value",), text.cstr),
    Function("DateAdd", ("interval", "value", "dateTime"), dates.date_add, checks=_INTERVAL),
    Function("DateDiff", ("interval", "date1", "date2"), dates.date_diff, checks=_INTERVAL),
    Function("DateFromNum", ("value",), dates.date_from_num, checks={0: to_int}),
    Function(
        "FormatDateTime",
        ("source", "dateTimeStyles?", "inputFormat", "outputFormat"),
        dates.format_date_time,
        checks={1: parse_styles, 2: check_format, 3: check_format},
    ),
    Function("Guid", (), text.guid, context=True),
    Function("IgnoreFlowIfNullOrEmpty", ("expression",), _ignore_flow_if_null_or_empty),
    Function("IIF", ("condition", "valueIfTrue", "valueIfFalse")),
    Function(
        "InStr",
        ("value1", "value2", "start?", "compareType?"),
        text.instr,
        checks={2: to_int, 3: text.compare_type},
    ),
    Function("IsNull", ("Expression",), text.is_null),
    Function("IsNullOrEmpty", ("Expression",), text.is_null_or_empty),
    Function("IsPresent", ("Expression",), text.is_present),
    Function("IsString", ("Expression",), text.is_string),
    Function("Item", ("attribute", "index"), text.item, checks={1: to_int}),
    Function("Join", ("separator", "source"), text.join, repeat=1),
    Function("Left", ("String", "NumChars"), text.left, checks={1: to_int}),
    Function("Mid", ("source", "start", "length"), text.mid, checks={1: to_int, 2: to_int}),
    Function("NormalizeDiacritics", _ONE_VALUE, text.normalize),
    Function("Not", _ONE_VALUE, text.not_),
    Function("Now", (), dates.now, context=True),
    Function("NumFromDate", ("value",), dates.num_from_date, checks={0: dates.to_datetime}),
    Function("PCase", ("source", "wordSeparators?"), text.pcase),
    Function(
        "RandomString",
        (
            "Length",
            "MinimumNumbers",
            "MinimumSpecialCharacters",
            "MinimumCapital",
            "MinimumLowerCase",
            "CharactersToAvoid?",
        ),
        text.random_string,
        context=True,
        checks=dict.fromkeys(range(5), to_int),
    ),
    Function("Redact", ("attribute/value",), _redact),
    Function("RemoveDuplicates", ("attribute",), text.remove_duplicates),
    Function(
        "Replace",
        (
            "source",
            "oldValue?",
            "regexPattern?",
            "regexGroupName?",
            "replacementValue?",
            "replacementAttributeName?",
            "template?",
        ),
    ),
    Function(
        "SelectUniqueValue",
        ("uniqueValueRule1", "uniqueValueRule2"),
        _select_unique_value,
        repeat=1,
    ),
    Function("SingleAppRoleAssignment", _ROLES, roles.single_app_role_assignment),
    Function("Split", ("source", "delimiter"), text.split),
    Function("StripSpaces", _ONE_VALUE, text.strip_spaces),
    Function("Switch", ("source", "defaultValue?", "key", "value"), repeat=2),
    Function("ToLower", ("source", "culture?"), text.to_lower, checks={1: text.is_turkic}),
    Function("ToUpper", ("source", "culture?"), text.to_upper, checks={1: text.is_turkic}),
    Function("Word", ("String", "WordNumber", "Delimiters"), text.word, checks={1: to_int}),
    Function(
        "AssertiveAppRoleAssignmentsComplex", _ROLES, roles.assertive_app_role_assignments_complex
    ),
)

#: Lower-cased name → function.
FUNCTIONS: Final[Mapping[str, Function]] = {function.name.lower(): function for function in _TABLE}
