"""The string, number and predicate functions (functions-for-customizing-application-data.md).

Each takes its evaluated arguments positionally (``None`` for null or an omitted optional
argument) and raises ``FunctionError`` for a value it cannot use. Unless its documentation says
otherwise, a function returns null for a null source.
"""

from __future__ import annotations

import base64
import re
import string
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any, Final

from scimhub.engine.expressions.context import EvaluationContext
from scimhub.engine.expressions.diacritics import normalize_diacritics
from scimhub.engine.expressions.errors import FunctionError
from scimhub.engine.expressions.values import as_list, is_empty, to_bool, to_int, to_str

#: The special characters of Windows' password complexity rules, which RandomString's
#: documentation points to.
SPECIAL_CHARACTERS: Final = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"
RANDOM_STRING_MAX: Final = 256
#: ToTitleCase's word separators (PCase without wordSeparators): spaces, controls, punctuation
#: and symbols.
_SEPARATOR_CATEGORIES: Final = frozenset(
    ("Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So")
)
_CULTURE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_TURKIC: Final = ("tr", "az")
_DOTLESS_I: Final = "\u0131"
_IGNORE_CASE: Final = {"vbbinarycompare": False, "0": False, "vbtextcompare": True, "1": True}


def append(source: Any, suffix: Any) -> str | None:
    text = to_str(source)
    return None if text is None else text + (to_str(suffix) or "")


def bit_and(value1: Any, value2: Any) -> int | None:
    left, right = to_int(value1), to_int(value2)
    return None if left is None or right is None else left & right


def cbool(value: Any) -> bool:
    return to_bool(value)


def convert_to_base64(source: Any) -> str | None:
    text = to_str(source)
    return None if text is None else base64.b64encode(text.encode("utf-16-le")).decode("ascii")


def convert_to_utf8_hex(source: Any) -> str | None:
    text = to_str(source)
    return None if text is None else text.encode("utf-8").hex().upper()


def count(attribute: Any) -> int:
    """A null attribute has no elements, a single value one."""
    return len(as_list(attribute))


def cstr(value: Any) -> str | None:
    return to_str(value)


def instr(value1: Any, value2: Any, start: Any = None, compare: Any = None) -> int | None:
    text, wanted = to_str(value1), to_str(value2)
    if text is None or wanted is None:
        return None
    begin = 1 if start is None else _whole(start, "start")
    if begin < 1:
        raise FunctionError(f"start must be 1 or more, got {begin}")
    if compare_type(compare):
        folded, folded_wanted = text.lower(), wanted.lower()
        if len(folded) == len(text):  # positions still line up
            return folded.find(folded_wanted, begin - 1) + 1
        match = re.search(re.escape(wanted), text[begin - 1 :], re.IGNORECASE)
        return match.start() + begin if match else 0
    return text.find(wanted, begin - 1) + 1


def compare_type(value: Any) -> bool:
    """True for vbTextCompare (case-insensitive), false for vbBinaryCompare (the default)."""
    if value is None:
        return False
    key = (to_str(value) or "").strip().lower()
    if key not in _IGNORE_CASE:
        raise FunctionError(f"compareType must be vbBinaryCompare or vbTextCompare, got {value!r}")
    return _IGNORE_CASE[key]


def _whole(value: Any, name: str) -> int:
    number = to_int(value)
    if number is None:
        raise FunctionError(f"{name} is null")
    return number


def is_null(value: Any) -> bool:
    """"For an attribute, a Null is expressed by the absence of the attribute" (or no values)."""
    return value is None or value == []


def is_null_or_empty(value: Any) -> bool:
    return is_empty(value)


def is_present(value: Any) -> bool:
    return not is_empty(value)


def is_string(value: Any) -> bool:
    """True for a string value only (not for null, a boolean, a number or a list)."""
    return isinstance(value, str)


def item(attribute: Any, index: Any) -> Any:
    values = as_list(attribute)
    position = to_int(index)
    if position is None or not 1 <= position <= len(values):
        return None
    return values[position - 1]


def join(separator: Any, *sources: Any) -> str | None:
    """Null and empty values are left out (the doc's ``Join(", ", "", [surname], [givenName])``
    gives ``"Doe, John"``); null when every source is null."""
    parts: list[str] = []
    present = False
    for source in sources:
        if source is None:
            continue
        present = True
        for value in source if isinstance(source, list | tuple) else (source,):
            text = value if isinstance(value, str) else to_str(value)
            if text:
                parts.append(text)
    if not present:
        return None
    return (separator if isinstance(separator, str) else to_str(separator) or "").join(parts)


def left(source: Any, num_chars: Any) -> str:
    text = to_str(source)
    if text is None:
        return ""
    count = _whole(num_chars, "NumChars")
    return text if count < 0 else text[:count]


def mid(source: Any, start: Any, length: Any) -> str | None:
    text = to_str(source)
    if text is None:
        return None
    begin, size = _whole(start, "start"), _whole(length, "length")
    if begin < 1:
        raise FunctionError(f"start must be 1 or more, got {begin}")
    if size < 0:
        raise FunctionError(f"length must not be negative, got {size}")
    return text[begin - 1 : begin - 1 + size]


def normalize(source: Any) -> str | None:
    text = to_str(source)
    return None if text is None else normalize_diacritics(text)


def not_(source: Any) -> bool:
    """"If source value is True, returns False. Otherwise, returns True." (so null gives True)."""
    return not to_bool(source)


def pcase(source: Any, word_separators: Any = None) -> str | None:
    text = to_str(source)
    if text is None:
        return None
    separators = to_str(word_separators)
    is_separator: Callable[[str], bool] = (
        _is_default_separator if separators is None else separators.__contains__
    )
    out: list[str] = []
    word_start = True
    for char in text:
        if is_separator(char):
            out.append(char)
            word_start = True
        else:
            out.append(_simple_upper(char) if word_start else _simple_lower(char))
            word_start = False
    return "".join(out)


def _is_default_separator(char: str) -> bool:
    return unicodedata.category(char) in _SEPARATOR_CATEGORIES


def remove_duplicates(attribute: Any) -> Any:
    if not isinstance(attribute, list | tuple):
        return attribute
    unique: list[Any] = []
    for value in attribute:
        if value not in unique:
            unique.append(value)
    return unique


def split(source: Any, delimiter: Any) -> list[str] | None:
    """Each part trimmed of surrounding white space, as the doc's example shows:
    ``"PermissionSetOne, PermissionSetTwo"`` gives ``["PermissionSetOne", "PermissionSetTwo"]``."""
    text = to_str(source)
    if text is None:
        return None
    separator = to_str(delimiter) or ""
    parts = text.split(separator) if separator else [text]
    return [part.strip() for part in parts]


def strip_spaces(source: Any) -> str | None:
    text = to_str(source)
    return None if text is None else text.replace(" ", "")


def to_lower(source: Any, culture: Any = None) -> str | None:
    text = to_str(source)
    if text is None:
        return None
    if is_turkic(culture):
        text = text.replace("I", _DOTLESS_I).replace("\u0130", "i")
    return text.lower() if text.isascii() else "".join(map(_simple_lower, text))


def to_upper(source: Any, culture: Any = None) -> str | None:
    text = to_str(source)
    if text is None:
        return None
    if is_turkic(culture):
        text = text.replace("i", "\u0130").replace(_DOTLESS_I, "I")
    return text.upper() if text.isascii() else "".join(map(_simple_upper, text))


def is_turkic(culture: Any) -> bool:
    """Culture names are checked; only Turkish and Azeri change casing (dotted and dotless i).
    Every other culture, and none, is the invariant culture."""
    name = to_str(culture)
    if not name:
        return False
    if not _CULTURE.fullmatch(name):
        raise FunctionError(f"'{name}' is not a culture name such as 'en-US'")
    return name.split("-", 1)[0].lower() in _TURKIC


def _simple_upper(char: str) -> str:
    """.NET maps case one character to one character (``ToUpper("ß")`` stays ``"ß"``)."""
    upper = char.upper()
    return upper if len(upper) == 1 else char


def _simple_lower(char: str) -> str:
    lower = char.lower()
    return lower if len(lower) == 1 else char


def word(source: Any, word_number: Any, delimiters: Any) -> str:
    """Runs of delimiters separate words (there are no empty words)."""
    text = to_str(source)
    number = to_int(word_number)
    if text is None or number is None or number < 1:
        return ""
    words = [w for w in _split_on(text, set(to_str(delimiters) or "")) if w]
    return words[number - 1] if number <= len(words) else ""


def _split_on(text: str, separators: set[str]) -> list[str]:
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char in separators:
            words.append("".join(current))
            current = []
        else:
            current.append(char)
    words.append("".join(current))
    return words


def guid(context: EvaluationContext) -> str:
    return str(uuid.UUID(int=context.random.getrandbits(128), version=4))


def random_string(
    context: EvaluationContext,
    length: Any,
    minimum_numbers: Any,
    minimum_special: Any,
    minimum_capital: Any,
    minimum_lower: Any,
    characters_to_avoid: Any = None,
) -> str:
    """At least the minimum of each class; the rest drawn from all four classes; never a
    character of CharactersToAvoid."""
    total = _whole(length, "Length")
    minimums = [
        _whole(minimum_numbers, "MinimumNumbers"),
        _whole(minimum_special, "MinimumSpecialCharacters"),
        _whole(minimum_capital, "MinimumCapital"),
        _whole(minimum_lower, "MinimumLowerCase"),
    ]
    if not 0 < total <= RANDOM_STRING_MAX:
        raise FunctionError(f"Length must be between 1 and {RANDOM_STRING_MAX}, got {total}")
    if min(minimums) < 0 or sum(minimums) > total:
        raise FunctionError(f"the minimums {minimums} do not fit in Length {total}")
    avoid = set(to_str(characters_to_avoid) or "")
    classes = (string.digits, SPECIAL_CHARACTERS, string.ascii_uppercase, string.ascii_lowercase)
    pools = [[char for char in pool if char not in avoid] for pool in classes]
    chosen: list[str] = []
    for pool, minimum in zip(pools, minimums, strict=True):
        if minimum and not pool:
            raise FunctionError("CharactersToAvoid leaves no character for a required class")
        chosen.extend(context.random.choice(pool) for _ in range(minimum))
    everything = [char for pool in pools for char in pool]
    if not everything:
        raise FunctionError("CharactersToAvoid leaves no character to choose from")
    chosen.extend(context.random.choice(everything) for _ in range(total - len(chosen)))
    context.random.shuffle(chosen)
    return "".join(chosen)
