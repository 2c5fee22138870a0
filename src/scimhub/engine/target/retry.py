"""How long to wait before trying a transient failure again: policy only, no sleeping.

Back-off is exponential with full jitter (a uniform draw below the exponential ceiling), so
that workers failing together do not retry together. A 429 waits what its ``Retry-After``
asked for instead, up to ``max_retry_after``; a 429 without one backs off like any other.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Literal

from scimhub.engine.errors import TargetError, Throttled, Transient

_SECONDS = re.compile(r"\d+(\.\d+)?")  # RFC 9110 says digits; some targets send "1.5"

#: Why a request was tried again: what the engine's ``retries_total`` metric is labelled by.
RetryReason = Literal["429", "5xx", "timeout", "connection"]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts counts the first try: it must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays cannot be negative")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed attempt number ``attempt`` (1 for the first try)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return rng.uniform(0, ceiling) if self.jitter else ceiling

    def delay(self, attempt: int, error: Transient, rng: random.Random) -> float:
        if isinstance(error, Throttled) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        return self.backoff(attempt, rng)


def parse_retry_after(header: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from ``Retry-After`` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date);
    None when absent or unreadable, 0 for a date already past."""
    if header is None or not header.strip():
        return None
    value = header.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT, even written without a zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


def retry_reason(outcome: int | TargetError) -> RetryReason | None:
    """Which of the transient failures this policy retries an attempt's outcome is (an HTTP
    status, or the error of a request that got no answer), or None when it is not one.

    The one place that names them, so that what the metrics count as a retry is what the
    client treats as transient (client.py ``_checked``: 408 is a timeout, 501 is final)."""
    if isinstance(outcome, int):
        if outcome == 429:
            return "429"
        if outcome == 408:
            return "timeout"
        if outcome >= 500 and outcome != 501:
            return "5xx"
        return None
    if not isinstance(outcome, Transient):
        return None
    return "timeout" if outcome.code == "Timeout" else "connection"
