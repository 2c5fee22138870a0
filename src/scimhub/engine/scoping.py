"""Scoping filters (define-conditional-rules-for-provisioning-user-accounts.md).

A filter's clauses are ANDed, filters are ORed, and no filter at all puts everything in scope.
Operators are those of Microsoft's list, in any case, with spaces or underscores between words
(``IS NULL``, ``is_null``); an unknown one is a ``ValueError`` when the clause is built, as is a
regular expression that does not compile or a non-integer value for Greater_Than.

Decisions where the page leaves room:

* "Scoping filters will return false if the value is null / empty": every operator except
  IS NULL (true) and IS NOT NULL (false) is false for a null or empty attribute — NOT EQUALS and
  ``!&`` included.
* ``&`` is true when the attribute's value occurs in the clause's value ("the evaluated
  attribute exists in the input string value"), case-sensitively, ``!&`` when it does not: a
  clause ``department & "Sales,Marketing"`` keeps both departments. (In the older MIM engine
  ``&`` was a bitwise AND; Microsoft's current text says otherwise, and it is followed.)
* REGEX MATCH must match the whole value: Microsoft's examples only mean what their text says
  when anchored (``.*\\@domain.com`` for "users that have the domain @domain.com",
  ``([1-9][0-9])`` for "any number between 10 and 99"). Patterns are .NET's, as in expressions.
* EQUALS, NOT EQUALS, ENDS_WITH, Includes and ``&`` compare case-sensitively; booleans read
  ``True``/``False``. IS TRUE and IS FALSE accept a boolean or the string true/false in any case.
* Greater_Than(_OR_EQUALS): both sides must be integers; an attribute that is not is false.
* A multi-valued attribute ("Filtering is not supported for multi-valued attributes") is only
  null or not null (empty or not); every other operator is false for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from scimhub.engine.expressions.errors import FunctionError
from scimhub.engine.expressions.netregex import compile_pattern
from scimhub.engine.expressions.values import is_empty, lookup, to_str

_INTEGER = re.compile(r"[+-]?\d{1,20}")
#: Normalised spelling → Microsoft's spelling.
OPERATORS: Final = {
    "&": "&",
    "!&": "!&",
    "ENDS_WITH": "ENDS_WITH",
    "EQUALS": "EQUALS",
    "GREATER_THAN": "Greater_Than",
    "GREATER_THAN_OR_EQUALS": "Greater_Than_OR_EQUALS",
    "INCLUDES": "Includes",
    "IS_FALSE": "IS FALSE",
    "IS_NOT_NULL": "IS NOT NULL",
    "IS_NULL": "IS NULL",
    "IS_TRUE": "IS TRUE",
    "NOT_EQUALS": "NOT EQUALS",
    "NOT_REGEX_MATCH": "NOT REGEX MATCH",
    "REGEX_MATCH": "REGEX MATCH",
}
_UNARY: Final = frozenset({"IS FALSE", "IS NOT NULL", "IS NULL", "IS TRUE"})

Test = Callable[[str], bool]


def parse_operator(text: str) -> str:
    """Microsoft's spelling of an operator written in any case, with spaces or underscores."""
    key = re.sub(r"[\s_]+", "_", text.strip()).upper()
    if key not in OPERATORS:
        known = ", ".join(OPERATORS.values())
        raise ValueError(f"unknown scoping operator '{text}'; the operators are: {known}")
    return OPERATORS[key]


@dataclass(frozen=True, slots=True)
class ScopingClause:
    attribute: str
    operator: str
    value: str | None = None
    _test: Test = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        operator = parse_operator(self.operator)
        object.__setattr__(self, "operator", operator)
        if operator not in _UNARY and self.value is None:
            raise ValueError(f"scoping clause on {self.attribute}: {operator} needs a value")
        object.__setattr__(self, "_test", _binary_test(operator, self.value or ""))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        value = lookup(obj, self.attribute)
        if self.operator in ("IS NULL", "IS NOT NULL"):
            return is_empty(value) == (self.operator == "IS NULL")
        if is_empty(value) or isinstance(value, list | tuple):
            return False
        if self.operator in ("IS TRUE", "IS FALSE"):
            return _boolean(value) is (self.operator == "IS TRUE")
        text = to_str(value)
        return text is not None and self._test(text)

    def __str__(self) -> str:
        if self.operator in _UNARY:
            return f"{self.attribute} {self.operator}"
        return f"{self.attribute} {self.operator} {self.value}"


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _binary_test(operator: str, wanted: str) -> Test:
    if operator in ("REGEX MATCH", "NOT REGEX MATCH"):
        try:
            pattern = compile_pattern(wanted)
        except FunctionError as error:
            raise ValueError(f"{operator}: {error}") from None
        if operator == "REGEX MATCH":
            return lambda text: pattern.fullmatch(text) is not None
        return lambda text: pattern.fullmatch(text) is None
    if operator in ("Greater_Than", "Greater_Than_OR_EQUALS"):
        return _integer_test(operator, wanted)
    tests: dict[str, Test] = {
        "&": lambda text: text in wanted,
        "!&": lambda text: text not in wanted,
        "ENDS_WITH": lambda text: text.endswith(wanted),
        "EQUALS": lambda text: text == wanted,
        "Includes": lambda text: wanted in text,
        "NOT EQUALS": lambda text: text != wanted,
    }
    return tests.get(operator, lambda text: False)


def _integer_test(operator: str, wanted: str) -> Test:
    if not _INTEGER.fullmatch(wanted.strip()):
        raise ValueError(f"{operator} needs an integer value, got '{wanted}'")
    bound = int(wanted)

    def test(text: str) -> bool:
        if not _INTEGER.fullmatch(text.strip()):
            return False
        number = int(text)
        return number > bound if operator == "Greater_Than" else number >= bound

    return test


@dataclass(frozen=True, slots=True)
class ScopingFilter:
    title: str
    clauses: tuple[ScopingClause, ...]

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(clause.matches(obj) for clause in self.clauses)


def in_scope(filters: Sequence[ScopingFilter], obj: Mapping[str, Any]) -> bool:
    return not filters or any(scoping_filter.matches(obj) for scoping_filter in filters)


def explain(filters: Sequence[ScopingFilter], obj: Mapping[str, Any]) -> list[str]:
    """One line per clause, as provision on demand shows them: ``{title} {attribute}
    {operator} {value}: true`` (or ``false``)."""
    return [
        f"{scoping_filter.title} {clause}: {'true' if clause.matches(obj) else 'false'}"
        for scoping_filter in filters
        for clause in scoping_filter.clauses
    ]
