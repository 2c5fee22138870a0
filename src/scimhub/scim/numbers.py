"""The one reader of integers that arrive as text or JSON (page numbers, startIndex, count).

Python's own tools are too lenient for input from the network: ``str.isdigit``
accepts "²" (which ``int`` then refuses), ``int`` accepts "١٢" (Arabic-Indic
digits), "1_000" and " 1 ", and it converts any number of digits into an
integer that no database column holds. Here an integer is ASCII digits with an
optional sign, within bounds the caller states.
"""

from __future__ import annotations

import re
from typing import Final

_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,19}", re.ASCII)


def bounded_int(value: object, low: int, high: int) -> int | None:
    """``value`` (a JSON integer or its text) when it lies in ``[low, high]``, else None.

    Booleans and floats are not integers here, even ``true`` and ``1.0``.
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    if number is None or not low <= number <= high:
        return None
    return number
