"""The date functions: CDate, DateAdd, DateDiff, DateFromNum, FormatDateTime, Now, NumFromDate.

They compute with aware UTC ``datetime`` values, which become Entra's ``M/d/yyyy h:mm:ss tt``
strings where a string is needed. DateDiff counts interval boundaries crossed, like VBA's (and
so Entra's) DateDiff: Microsoft's examples (-3449 days, -493 weeks, -113 months between
8/25/2021 5:41:18 PM and 2012-03-16-07:00) need exactly that.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from scimhub.engine.expressions.context import EvaluationContext
from scimhub.engine.expressions.datetimes import (
    as_utc,
    format_custom,
    from_filetime,
    parse_date,
    parse_exact,
    parse_styles,
    to_filetime,
)
from scimhub.engine.expressions.errors import FunctionError
from scimhub.engine.expressions.values import to_int, to_str

#: The intervals Microsoft documents for DateAdd and DateDiff.
INTERVALS: Final = ("yyyy", "m", "d", "ww", "h", "n", "s")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS: Final = {"h": 3600, "n": 60, "s": 1}


def to_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return None if value is None else as_utc(value)
    text = to_str(value)
    return None if text is None else parse_date(text)


def check_interval(value: Any) -> str:
    interval = (to_str(value) or "").strip().lower()
    if interval not in INTERVALS:
        raise FunctionError(f"interval must be one of {', '.join(INTERVALS)}; got {value!r}")
    return interval


def cdate(expression: Any) -> datetime | None:
    return to_datetime(expression)


def date_add(interval: Any, number: Any, date_time: Any) -> datetime | None:
    unit = check_interval(interval)
    amount, start = to_int(number), to_datetime(date_time)
    if amount is None or start is None:
        return None
    try:
        if unit in ("yyyy", "m"):
            return _add_months(start, amount * (12 if unit == "yyyy" else 1))
        step = {"d": 86400, "ww": 7 * 86400, "h": 3600, "n": 60, "s": 1}[unit]
        return start + timedelta(seconds=step * amount)
    except (OverflowError, ValueError):
        raise FunctionError(f"adding {amount} {unit} to {start} leaves the calendar") from None


def _add_months(start: datetime, months: int) -> datetime:
    """Like VBA: the day is kept, or clamped to the end of a shorter month."""
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise OverflowError(year)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)


def date_diff(interval: Any, date1: Any, date2: Any) -> int | None:
    unit = check_interval(interval)
    first, second = to_datetime(date1), to_datetime(date2)
    if first is None or second is None:
        return None
    if unit == "yyyy":
        return second.year - first.year
    if unit == "m":
        return (second.year * 12 + second.month) - (first.year * 12 + first.month)
    if unit == "d":
        return second.toordinal() - first.toordinal()
    if unit == "ww":  # calendar weeks, starting on Sunday (ordinal 7 is a Sunday)
        return second.toordinal() // 7 - first.toordinal() // 7
    size = _SECONDS[unit]
    return _seconds(second) // size - _seconds(first) // size


def _seconds(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(seconds=1)


def date_from_num(value: Any) -> datetime | None:
    ticks = to_int(value)
    return None if ticks is None else from_filetime(ticks)


def format_date_time(
    source: Any, date_time_styles: Any, input_format: Any, output_format: Any
) -> str | None:
    """The date keeps the offset it was read with (``yyyy-MM-ddzzz`` then ``yyyy-MM-dd`` gives
    back the same calendar date, as Microsoft's NumFromDate example needs)."""
    if source is None:
        return None
    out_format = to_str(output_format)
    if not out_format:
        raise FunctionError("outputFormat is empty")
    if isinstance(source, datetime):
        return format_custom(source, out_format)
    in_format = to_str(input_format)
    if not in_format:
        raise FunctionError("inputFormat is empty")
    styles = parse_styles(to_str(date_time_styles))
    return format_custom(parse_exact(to_str(source) or "", in_format, styles), out_format)


def now(context: EvaluationContext) -> datetime:
    return as_utc(context.now)


def num_from_date(value: Any) -> int | None:
    moment = to_datetime(value)
    return None if moment is None else to_filetime(moment)
