"""RATE: the one way scimhub reads a request rate, wherever it is given.

``scimhub serve --tenant-rate-limit``, ``scimhub tenant limit`` and a job's ``[target] rate``
all take the same text, so that an operator learns it once: ``COUNT/WINDOW``, the window a
unit with an optional whole multiple: ``200/s``, ``200/second``, ``12000/minute``,
``1000/10s``, ``50 per second``. COUNT is also the burst: after a quiet spell COUNT requests
may arrive at once, and then no more than COUNT in any window. So ``200/s`` and
``12000/minute`` average the same 200 a second, but the second lets a quiet client send 12,000
in a rush; pick the window to pick the burst.

Pure (no I/O): the server and the engine both build their limiters from what it returns, with
the ``limits`` library, which this module only names the windows for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from limits import (
    RateLimitItem,
    RateLimitItemPerDay,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)

#: The word that turns a limit off (``tenant limit NAME off``; stored as is).
OFF: Final = "off"
#: The longest RATE kept: ``tenants.rate_limit`` is a String(32).
MAX_TEXT: Final = 32
#: Far beyond any server's capacity: a bigger COUNT is a typo, not a limit.
MAX_COUNT: Final = 1_000_000_000

_RATE = re.compile(r"^(\d+)\s*(?:/|per\b)\s*(\d+)?\s*([a-z]+)$", re.IGNORECASE)
_UNITS: dict[str, tuple[str, type[RateLimitItem]]] = {}
for _names, _unit, _item in (
    (("s", "sec", "secs", "second", "seconds"), "s", RateLimitItemPerSecond),
    (("m", "min", "mins", "minute", "minutes"), "minute", RateLimitItemPerMinute),
    (("h", "hr", "hour", "hours"), "hour", RateLimitItemPerHour),
    (("d", "day", "days"), "day", RateLimitItemPerDay),
):
    for _name in _names:
        _UNITS[_name] = (_unit, _item)

EXAMPLES: Final = "200/s, 200/second, 12000/minute or 1000/10s"


class BadRate(ValueError):
    """A RATE that does not read; the message says what would."""


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``seconds`` (the window); ``count`` is also the burst."""

    count: int
    seconds: int
    #: What ``limits`` counts with (its key names the count and the window).
    item: RateLimitItem
    #: The canonical spelling, e.g. ``200/s`` or ``1000/10 minutes``: what is stored and shown.
    text: str

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@lru_cache(maxsize=1024)
def parse_rate(text: str) -> Rate:
    """The RATE ``text`` reads as, or :class:`BadRate`. Cached: a request parses its tenant's
    stored limit for free after the first time."""
    found = _RATE.match(text.strip())
    unit = _UNITS.get(found[3].lower()) if found else None
    if found is None or unit is None:
        raise BadRate(f"{text!r} is not a rate: write COUNT/WINDOW, e.g. {EXAMPLES}")
    count, multiple = int(found[1]), int(found[2]) if found[2] else 1
    if not 1 <= count <= MAX_COUNT:
        raise BadRate(f"{text!r}: the count must be between 1 and {MAX_COUNT:,}")
    if not 1 <= multiple <= 1000:
        raise BadRate(f"{text!r}: the window's multiple must be between 1 and 1000")
    name, kind = unit
    window = name if multiple == 1 else f"{multiple} {name}s" if name != "s" else f"{multiple}s"
    canonical = f"{count}/{window}"
    if len(canonical) > MAX_TEXT:
        raise BadRate(f"{text!r} is too long a rate")
    item = kind(count, multiple, namespace="scimhub")
    return Rate(count, item.get_expiry(), item, canonical)


def parse_setting(text: str) -> Rate | None:
    """A limit as configured: a RATE, or ``off`` (None: no limit)."""
    if text.strip().lower() == OFF:
        return None
    return parse_rate(text)
