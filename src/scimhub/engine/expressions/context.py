"""What an evaluation may depend on besides the object: the clock and a source of randomness."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """``now`` feeds ``Now()`` (a naive value is read as UTC); ``random`` feeds ``Guid()`` and
    ``RandomString()``: pass ``random.SystemRandom()`` in production, a seeded ``random.Random``
    in tests."""

    now: datetime
    random: random.Random
