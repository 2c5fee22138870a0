"""Dates the way Entra's functions read and write them.

* ``format_default``: the invariant culture's ``M/d/yyyy h:mm:ss tt`` in UTC, which ``CDate``,
  ``DateAdd`` and ``Now`` return.
* ``parse_date``: what ``CDate`` (and every date argument) accepts: ISO 8601 with or without a
  time and offset (``2020-03-16-07:00``, ``2009-06-15T01:45:30-07:00``, ``2021-08-24``) and the
  default format above. A value without an offset is UTC: Entra's servers run in UTC, so .NET's
  "local" is UTC there.
* ``parse_exact`` / ``format_custom``: .NET custom date and time format strings, for
  ``FormatDateTime``.
* ``to_filetime`` / ``from_filetime``: Active Directory's 100-ns ticks since 1601-01-01 UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Final, NamedTuple

from scimhub.engine.expressions.errors import FunctionError

FILETIME_EPOCH: Final = datetime(1601, 1, 1, tzinfo=UTC)
_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SPECIFIERS: Final = frozenset("yMdhHmsfFtzKg")
#: .NET standard formats that are worth supporting, as the custom formats they stand for.
_STANDARD: Final = {
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
}
_STYLES: Final = frozenset(
    {
        "none",
        "allowleadingwhite",
        "allowtrailingwhite",
        "allowinnerwhite",
        "allowwhitespaces",
        "nocurrentdatedefault",
        "adjusttouniversal",
        "assumelocal",
        "assumeuniversal",
        "roundtripkind",
    }
)
_DEFAULT_STYLES: Final = frozenset({"roundtripkind", "allowleadingwhite", "allowtrailingwhite"})

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,7}))?)?)?"
    r"\s*(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_US = re.compile(
    r"(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"
    r"(?:\s+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<t>[AP]M)?)?"
    r"\s*(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_default(value: datetime) -> str:
    value = as_utc(value)
    hour = value.hour % 12 or 12
    half = "AM" if value.hour < 12 else "PM"
    return (
        f"{value.month}/{value.day}/{value.year} "
        f"{hour}:{value.minute:02}:{value.second:02} {half}"
    )


def parse_date(text: str) -> datetime:
    """A date string as CDate reads it, as an aware UTC datetime."""
    stripped = text.strip()
    match = _ISO.fullmatch(stripped) or _US.fullmatch(stripped)
    if match is None:
        raise FunctionError(f"'{text}' is not a date")
    fields = match.groupdict()
    hour = int(fields["h"] or 0)
    if fields.get("t"):
        if not 1 <= hour <= 12:
            raise FunctionError(f"'{text}' is not a date: hour {hour} with AM/PM")
        hour = hour % 12 + (12 if fields["t"].upper() == "PM" else 0)
    try:
        value = datetime(
            int(fields["y"]),
            int(fields["mo"]),
            int(fields["d"]),
            hour,
            int(fields["mi"] or 0),
            int(fields["s"] or 0),
            int((fields.get("f") or "0").ljust(7, "0")[:6]),
            tzinfo=_offset(fields["z"]) or UTC,
        )
    except ValueError as error:
        raise FunctionError(f"'{text}' is not a date: {error}") from None
    return value.astimezone(UTC)


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text.upper() == "Z":
        return UTC
    match = _OFFSET.fullmatch(text)
    hours, minutes = (int(match[2]), int(match[3] or 0)) if match else (99, 0)
    if match is None or hours > 14 or minutes > 59:
        raise FunctionError(f"'{text}' is not a UTC offset")
    sign = -1 if match[1] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def to_filetime(value: datetime) -> int:
    delta = as_utc(value) - FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def from_filetime(ticks: int) -> datetime:
    try:
        return FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        raise FunctionError(f"{ticks} is outside the dates a FILETIME can name") from None


# --------------------------------------------------------------------------------------------
# .NET custom format strings


class _Piece(NamedTuple):
    letter: str  # a specifier letter, or "" for literal text
    width: int  # how many times the letter is repeated
    text: str


@lru_cache(maxsize=256)
def _pieces(fmt: str) -> tuple[_Piece, ...]:
    if not fmt:
        raise FunctionError("the date format is empty")
    if len(fmt) == 1:
        if fmt not in _STANDARD:
            raise FunctionError(
                f"the standard date format '{fmt}' is not supported; "
                "use a custom format such as 'yyyy-MM-dd'"
            )
        fmt = _STANDARD[fmt]
    pieces: list[_Piece] = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char in _SPECIFIERS:
            end = i
            while end < len(fmt) and fmt[end] == char:
                end += 1
            pieces.append(_Piece(char, end - i, ""))
            i = end
        elif char in "'\"":
            end = fmt.find(char, i + 1)
            if end < 0:
                raise FunctionError(f"unterminated quoted text in the date format '{fmt}'")
            pieces.append(_Piece("", 0, fmt[i + 1 : end]))
            i = end + 1
        elif char == "\\":
            if i + 1 == len(fmt):
                raise FunctionError(f"the date format '{fmt}' ends with a lone backslash")
            pieces.append(_Piece("", 0, fmt[i + 1]))
            i += 2
        elif char == "%":
            i += 1
        else:
            pieces.append(_Piece("", 0, char))
            i += 1
    for piece in pieces:
        if piece.letter in "fF" and piece.width > 7:
            raise FunctionError(f"'{piece.letter * piece.width}': at most 7 fraction digits")
    return tuple(pieces)


def check_format(fmt: Any) -> None:
    if not isinstance(fmt, str):
        raise FunctionError(f"a date format is a string, got {fmt!r}")
    _pieces(fmt)


def format_custom(value: datetime, fmt: str) -> str:
    return "".join(_format_piece(value, piece) for piece in _pieces(fmt))


def _format_piece(value: datetime, piece: _Piece) -> str:
    letter, count = piece.letter, piece.width
    if not letter:
        return piece.text
    if letter == "y":
        return _number_or_name(value.year % 100, count, f"{value.year:0{count}}")
    if letter == "M":
        return _number_or_name(value.month, count, _MONTHS[value.month - 1])
    if letter == "d":
        return _number_or_name(value.day, count, _DAYS[value.weekday()])
    if letter in "hHms":
        number = {
            "h": value.hour % 12 or 12,
            "H": value.hour,
            "m": value.minute,
            "s": value.second,
        }[letter]
        return f"{number:0{min(count, 2)}}"
    if letter in "fF":
        digits = f"{value.microsecond:06}0"[:count]
        return digits if letter == "f" else digits.rstrip("0")
    if letter == "t":
        half = "AM" if value.hour < 12 else "PM"
        return half[:count] if count < 2 else half
    if letter == "z":
        return _format_offset(value, count)
    if letter == "K":
        if value.tzinfo is None:
            return ""
        return "Z" if value.utcoffset() == timedelta(0) else _format_offset(value, 3)
    return "A.D."  # "g": the era


def _number_or_name(number: int, count: int, name: str) -> str:
    """One letter: the number; two: the number in two digits; more: the (abbreviated) name."""
    if count == 1:
        return str(number)
    if count == 2:
        return f"{number:02}"
    return name[:3] if count == 3 and not name.isdigit() else name


def _format_offset(value: datetime, count: int) -> str:
    offset = value.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    hours, minutes = divmod(minutes, 60)
    if count == 1:
        return f"{sign}{hours}"
    if count == 2:
        return f"{sign}{hours:02}"
    return f"{sign}{hours:02}:{minutes:02}"


@dataclass(frozen=True, slots=True)
class _Reader:
    pattern: re.Pattern[str]
    fields: tuple[tuple[str, int], ...]  # (letter, count) of each capturing group, in order


@lru_cache(maxsize=256)
def _reader(fmt: str) -> _Reader:
    parts: list[str] = []
    fields: list[tuple[str, int]] = []
    for piece in _pieces(fmt):
        if not piece.letter:
            parts.append(re.escape(piece.text))
            continue
        parts.append(f"({_field_pattern(piece.letter, piece.width)})")
        fields.append((piece.letter, piece.width))
    return _Reader(re.compile("".join(parts), re.IGNORECASE), tuple(fields))


def _field_pattern(letter: str, count: int) -> str:
    if letter == "y":
        return r"\d{1,2}" if count == 1 else r"\d{2}" if count == 2 else rf"\d{{{min(count, 4)},4}}"
    if letter in "Md" and count >= 3:
        names = _MONTHS if letter == "M" else _DAYS
        return "|".join(name[:3] if count == 3 else name for name in names)
    if letter in "MdhHms":
        return r"\d{1,2}" if count == 1 else r"\d{2}"
    if letter == "f":
        return rf"\d{{{count}}}"
    if letter == "F":
        return rf"\d{{0,{count}}}"
    if letter == "t":
        return "[AP]" if count == 1 else "[AP]M"
    if letter == "z":
        return r"[+-]\d{1,2}" if count == 1 else r"[+-]\d{2}" if count == 2 else r"[+-]\d{2}:\d{2}"
    if letter == "K":
        return r"Z|[+-]\d{2}:\d{2}|"
    return r"A\.?D\.?"


def parse_styles(text: str | None) -> frozenset[str]:
    """``DateTimeStyles`` names separated by commas, ``|`` or spaces; empty means Entra's
    default (RoundtripKind, AllowLeadingWhite, AllowTrailingWhite)."""
    if not text or not text.strip():
        return _DEFAULT_STYLES
    names = set()
    for word in re.split(r"[\s,|]+", text.strip()):
        name = word.lower().removeprefix("datetimestyles.")
        if name not in _STYLES:
            raise FunctionError(f"'{word}' is not a DateTimeStyles value")
        names.add(name)
    return frozenset(names)


def parse_exact(text: str, fmt: str, styles: frozenset[str]) -> datetime:
    """``DateTime.ParseExact(text, fmt, InvariantCulture, styles)``. A value without an offset
    stays naive unless AssumeUniversal/AssumeLocal (both UTC here) says otherwise."""
    if styles & {"allowleadingwhite", "allowwhitespaces"}:
        text = text.lstrip()
    if styles & {"allowtrailingwhite", "allowwhitespaces"}:
        text = text.rstrip()
    reader = _reader(fmt)
    match = reader.pattern.fullmatch(text)
    if match is None:
        raise FunctionError(f"'{text}' does not have the format '{fmt}'")
    value = _assemble(text, reader.fields, match.groups())
    if value.tzinfo is None and styles & {"assumeuniversal", "assumelocal"}:
        value = value.replace(tzinfo=UTC)
    if value.tzinfo is not None and "adjusttouniversal" in styles:
        value = value.astimezone(UTC)
    return value


def _assemble(text: str, fields: tuple[tuple[str, int], ...], groups: tuple[str, ...]) -> datetime:
    parts = {"year": 1, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "micro": 0}
    half: str | None = None
    zone: timezone | None = None
    for (letter, count), raw in zip(fields, groups, strict=True):
        if letter == "y":
            year = int(raw)
            parts["year"] = (2000 + year if year <= 49 else 1900 + year) if count <= 2 else year
        elif letter == "M":
            parts["month"] = _month(raw) if count >= 3 else int(raw)
        elif letter == "d" and count <= 2:
            parts["day"] = int(raw)
        elif letter in "hH":
            parts["hour"] = int(raw)
        elif letter == "m":
            parts["minute"] = int(raw)
        elif letter == "s":
            parts["second"] = int(raw)
        elif letter in "fF":
            parts["micro"] = int(raw.ljust(7, "0")[:6]) if raw else 0
        elif letter == "t":
            half = raw[0].upper()
        elif letter in "zK":
            zone = _offset(raw)
    if half is not None:
        parts["hour"] = parts["hour"] % 12 + (12 if half == "P" else 0)
    try:
        return datetime(
            parts["year"],
            parts["month"],
            parts["day"],
            parts["hour"],
            parts["minute"],
            parts["second"],
            parts["micro"],
            tzinfo=zone,
        )
    except ValueError as error:
        raise FunctionError(f"'{text}' is not a valid date: {error}") from None


def _month(name: str) -> int:
    folded = name.lower()
    return next(i for i, month in enumerate(_MONTHS, 1) if month.lower().startswith(folded[:3]))
