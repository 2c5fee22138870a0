"""The values expressions compute with, and Entra's conversions between them.

Inside an evaluation a value is ``None`` (null: a missing attribute), ``str``, ``bool``, ``int``,
``datetime`` (from CDate, DateAdd, Now, DateFromNum), a list (a multi-valued attribute) or a
role dict (the app-role functions). Where a function needs a string, booleans read ``"True"`` /
``"False"`` and dates ``M/d/yyyy h:mm:ss tt``, as in Entra.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from scimhub.engine.expressions.datetimes import format_default
from scimhub.engine.expressions.errors import FunctionError

_MISSING: Final = object()
_INTEGER = re.compile(r"[+-]?\d{1,20}")
_HEX = re.compile(r"&[Hh]([0-9A-Fa-f]{1,16})")


class Flow(enum.Enum):
    IGNORE = "IgnoreFlow"


#: What ``evaluate`` returns when ``IgnoreFlowIfNullOrEmpty`` met a null or empty value: the
#: mapper leaves the target attribute out of the flow.
IGNORE_FLOW: Final = Flow.IGNORE


class IgnoreFlowSignal(Exception):
    """Unwinds an evaluation from ``IgnoreFlowIfNullOrEmpty`` up to ``evaluate``."""


@dataclass(frozen=True, slots=True)
class Redacted:
    """The result of an expression that uses ``Redact``: ``str()`` gives the value to provision,
    ``repr()`` hides it, and the provisioning log writes ``[Redact]``."""

    value: Any = field(repr=False)

    def __str__(self) -> str:
        if isinstance(self.value, list):
            return str(self.value)
        return to_str(self.value) or ""


def lookup(source: Mapping[str, Any], name: str) -> Any:
    """An attribute's value: the exact name first, then any name equal ignoring case."""
    value = source.get(name, _MISSING)
    if value is not _MISSING:
        return value
    folded = name.casefold()
    for key, candidate in source.items():
        if key.casefold() == folded:
            return candidate
    return None


def is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def to_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return format_default(value)
    if isinstance(value, list | tuple):
        if len(value) > 1:
            raise FunctionError(f"expected one value, got a multi-valued attribute ({len(value)})")
        return to_str(value[0]) if value else None
    if isinstance(value, Mapping) and "value" in value:
        return to_str(value["value"])
    raise FunctionError(f"cannot use {type(value).__name__} {value!r} as a string")


def to_int(value: Any) -> int | None:
    """A whole number: an int, or a string of decimal digits or a VBA ``&H`` hex literal."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, bool):
        return int(value)
    text = to_str(value)
    if text is None:
        return None
    text = text.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    hexadecimal = _HEX.fullmatch(text)
    if hexadecimal:
        return int(hexadecimal[1], 16)
    raise FunctionError(f"'{text}' is not a whole number")


def to_bool(value: Any) -> bool:
    """Entra's truth: True, ``"True"`` in any case, or a non-zero number; anything else is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text) != 0
        return text.lower() == "true"
    return False


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def output(value: Any) -> Any:
    """An evaluation's result as the mapper receives it: dates become Entra's date strings."""
    if isinstance(value, datetime):
        return format_default(value)
    if isinstance(value, list):
        return [output(item) for item in value]
    return value
