"""``[target] rate``: the engine's own cap on requests to a target that publishes a limit.

Retry-After alone (client.py) makes the engine polite after the target refused it; a cap keeps
it from being refused at all, which matters for targets that count refusals against the
client, or answer 429 slowly. The cap is the ``limits`` library's moving window in memory:
exact (never more than COUNT requests in any window, so a target that counts the same RATE
with any algorithm accepts them), at the cost of a timestamp per request of the window, which
for one engine job is nothing. A request past the cap waits until the oldest one in the window
leaves it, then takes its place.
"""

from __future__ import annotations

import asyncio
import time

from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from scimhub.rates import Rate

#: Shortest wait between two tries for a slot: the window's clock is time.time(), whose
#: reading may land a hair before the oldest request expires.
_MIN_WAIT = 0.001


class RateCap:
    """At most ``rate.count`` requests per ``rate.seconds``, for everything one target client
    sends (retries included: the target counts them too)."""

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._limiter: MovingWindowRateLimiter | None = None
        #: Seconds spent waiting for a slot, over the client's life.
        self.waited = 0.0

    async def acquire(self) -> None:
        """Return once a request may leave now; it is counted from this moment."""
        if self._limiter is None:  # made in the client's loop: its locks belong to it
            self._limiter = MovingWindowRateLimiter(MemoryStorage())
        item = self.rate.item
        while not await self._limiter.hit(item, "target"):
            stats = await self._limiter.get_window_stats(item, "target")
            wait = max(_MIN_WAIT, stats.reset_time - time.time())
            self.waited += wait
            await asyncio.sleep(wait)
