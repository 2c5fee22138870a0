"""Each tenant's SCIM request limit: 429 with ``Retry-After`` past it, as Entra, Okta and Slack
expect of a service provider.

The algorithm is the ``limits`` library's sliding window counter: two counters per tenant (this
window's and the last one's, the last weighted by how much of it still overlaps), so a RATE of
``200/s`` allows a burst of 200 after a quiet spell and about 200 in any second after that,
without the doubled burst a fixed window allows at its edge, and without the moving window's
timestamp per request (12,000 of them per tenant for ``12000/minute``, in Redis). Refused
requests are not counted, so a client that keeps knocking is let in again as soon as the rate
allows, not punished for knocking.

Where the counters live: in the process by default; in Redis (``--redis``) so that every
process and machine serving the same database shares one limit per tenant. Redis is reached
through ``limits.aio`` and redis-py's asyncio client: a limit check is one round trip (a Lua
script) awaited on the event loop, never a blocking call.

When Redis does not answer, the limit fails open to the process: requests keep being served,
each process limiting on its own counters (so N processes allow up to N times the RATE) until
Redis answers again, tried again every few seconds, and the error is logged at most once a
minute. Failing closed would turn a cache outage into a SCIM outage for every tenant, and
refusing Entra's requests quarantines their jobs; allowing everything would drop the
protection exactly while things are already going wrong. Neither is what an operator wants.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import time
from collections.abc import Mapping
from typing import Any, Final

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from starlette.types import ASGIApp, Receive, Scope, Send

from scimhub.rates import OFF, BadRate, Rate, parse_rate
from scimhub.scim.errors import RateLimited
from scimhub.scim.types import TenantId
from scimhub.server.environment import RATE_LIMIT_ENV, REDIS_ENV
from scimhub.server.responses import error_response

log = logging.getLogger("scimhub.ratelimit")

#: Redis URL schemes ``--redis`` takes, and what ``limits`` calls them.
_SCHEMES: Final = {"redis://": "async+redis://", "rediss://": "async+rediss://",
                   "unix://": "async+redis+unix://"}
#: Keys in Redis start with this (several applications may share one Redis).
KEY_PREFIX: Final = "scimhub"
#: A Redis that does not answer within this costs a request no more than this, once per
#: ``RETRY_SHARED_SECONDS``.
REDIS_TIMEOUT: Final = 0.5
#: After Redis failed, the process counts on its own for this long before asking Redis again.
RETRY_SHARED_SECONDS: Final = 5.0
#: At most one error line per this many seconds while Redis is unreachable.
LOG_EVERY_SECONDS: Final = 60.0
#: How long a refusal is answered from memory before the token is looked up again: a
#: ``scimhub tenant limit`` change, or a revoked token, holds within this.
HOLD_SECONDS: Final = 1.0
#: Credentials remembered as refused, at most (one per limited tenant's token in practice).
MAX_REFUSED_TOKENS: Final = 10_000


class BadRedisUrl(ValueError):
    pass


def storage_uri(redis_url: str) -> str:
    """``limits``' name for a Redis URL (redis://, rediss:// or unix://), or BadRedisUrl."""
    for scheme, theirs in _SCHEMES.items():
        if redis_url.startswith(scheme) and len(redis_url) > len(scheme):
            return theirs + redis_url[len(scheme):]
    raise BadRedisUrl(f"{redis_url.split('://')[0]!r} is not a Redis URL: give "
                      "redis://HOST:PORT/DB, rediss://... (TLS) or unix:///PATH")


class TenantRateLimits:
    """The limits every tenant's SCIM requests are held to: the server's default, overridden
    by the tenant's own setting read with its token (``tenants.rate_limit``)."""

    def __init__(self, default: Rate | None = None, redis_url: str | None = None, *,
                 clock: Any = time.monotonic) -> None:
        self.default = default
        self.redis_uri = storage_uri(redis_url) if redis_url else None
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._local: SlidingWindowCounterRateLimiter | None = None
        self._shared: SlidingWindowCounterRateLimiter | None = None
        self._shared_down_until = 0.0
        self._logged_at = -math.inf
        self._bad_settings: set[str] = set()
        #: Until when a tenant's next request is refused without asking the counters: the
        #: limiter's own answer to its last refusal (the window's reset). Counts only go
        #: down with time, and refused requests are not counted, so the answer holds; a
        #: flood is refused without a Redis round trip, one entry per limited tenant.
        self._refused: dict[tuple[TenantId, str], float] = {}
        #: The same refusals by the request's credentials (SHA-256 of its Authorization
        #: header): :class:`RefuseWhileLimited` answers the next request that carries them
        #: before the SCIM routes, the token's lookup and the audit run.
        #: Each: the tenant, its rate, the window's reset, and until when it is held here.
        self._refused_tokens: dict[bytes, tuple[TenantId, Rate, float, float]] = {}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> TenantRateLimits:
        """What ``scimhub serve`` handed its workers (``--tenant-rate-limit``, ``--redis``);
        a bad value stops the worker at start (``serve`` checks both before it starts one)."""
        return cls.from_options(environ.get(RATE_LIMIT_ENV), environ.get(REDIS_ENV))

    @classmethod
    def from_options(cls, rate: str | None, redis_url: str | None) -> TenantRateLimits:
        """From ``--tenant-rate-limit`` (a RATE; empty or "off": no default limit) and
        ``--redis``; :class:`BadRate` or :class:`BadRedisUrl` when either does not read."""
        rate = (rate or "").strip()
        default = None if not rate or rate.lower() == OFF else parse_rate(rate)
        return cls(default, (redis_url or "").strip() or None)

    def rate_for(self, setting: str | None) -> Rate | None:
        """The limit a tenant's setting means: None follows the default, "off" none."""
        if setting is None:
            return self.default
        if setting == OFF:
            return None
        try:
            return parse_rate(setting)
        except BadRate as exc:  # written around `tenant limit`, which checks what it stores
            if setting not in self._bad_settings:
                self._bad_settings.add(setting)
                log.error("a tenant's rate limit does not read (%s): the default applies", exc)
            return self.default

    @property
    def refusing(self) -> bool:
        """Whether any credentials are being refused: one test per request when none is."""
        return bool(self._refused_tokens)

    def refused(self, authorization: bytes) -> tuple[TenantId, RateLimited] | None:
        """The tenant and the refusal for a request whose ``Authorization`` header was
        refused a moment ago and whose window has not reset, else None."""
        if self._shared_down_until and self._clock() >= self._shared_down_until:
            self._refused_tokens.clear()  # Redis is to be asked again: its count decides
            return None
        key = hashlib.sha256(authorization).digest()
        found = self._refused_tokens.get(key)
        if found is None:
            return None
        tenant, rate, reset, held_until = found
        now = time.time()
        if now >= held_until:
            del self._refused_tokens[key]
            return None
        return tenant, self._refusal(rate, reset - now)

    async def check(self, tenant: TenantId, setting: str | None,
                    authorization: bytes | None = None) -> None:
        """Count one request of ``tenant``, or raise :class:`RateLimited` past its limit.

        ``authorization``, the request's header, lets the refusal be remembered by the
        credentials too (:meth:`refused`)."""
        rate = self.rate_for(setting)
        if rate is None:
            return
        limiter = self._limiter()  # first: a change of counters forgets the refusals
        key = (tenant, rate.text)
        until = self._refused.get(key)
        if until is not None:  # refused a moment ago: no slot can have freed up since
            now = time.time()
            if now < until:
                raise self._refusal(rate, until - now)
            del self._refused[key]
        try:
            if await limiter.hit(rate.item, tenant):
                return
            stats = await limiter.get_window_stats(rate.item, tenant)
        except StorageError as exc:
            self._shared_failed(exc)
            local = self._local_limiter()
            if await local.hit(rate.item, tenant):
                return
            stats = await local.get_window_stats(rate.item, tenant)
        self._refused[key] = stats.reset_time
        if authorization is not None:
            if len(self._refused_tokens) >= MAX_REFUSED_TOKENS:
                self._refused_tokens.clear()  # old entries only cost a lookup: start afresh
            # Remembered until the window resets, but never longer than HOLD_SECONDS: the
            # token's lookup (which reads the tenant's own setting, and finds a revoked
            # token) runs again at least that often.
            self._refused_tokens[hashlib.sha256(authorization).digest()] = (
                tenant, rate, stats.reset_time,
                min(stats.reset_time, time.time() + HOLD_SECONDS))
        raise self._refusal(rate, stats.reset_time - time.time())

    @staticmethod
    def _refusal(rate: Rate, seconds: float) -> RateLimited:
        wait = min(rate.seconds, max(1, math.ceil(seconds)))
        return RateLimited(f"Too many requests: this tenant is limited to {rate.text}; "
                           f"retry after {wait} s", wait)

    def _limiter(self) -> SlidingWindowCounterRateLimiter:
        """Redis's when configured and not known to be down, else the process's own."""
        if self.redis_uri is None or self._clock() < self._shared_down_until:
            return self._local_limiter()
        self._same_loop()
        if self._shared is None:
            self._shared = SlidingWindowCounterRateLimiter(_redis_storage(self.redis_uri))
        elif self._shared_down_until:
            self._shared_down_until = 0.0
            self._refused.clear()  # the process's own refusals: Redis's count decides again
            self._refused_tokens.clear()
            log.info("rate limit counters: trying Redis again")
        return self._shared

    def _local_limiter(self) -> SlidingWindowCounterRateLimiter:
        self._same_loop()
        if self._local is None:
            self._local = SlidingWindowCounterRateLimiter(MemoryStorage())
        return self._local

    def _same_loop(self) -> None:
        """Storage belongs to the event loop that made it (asyncio locks, Redis connections):
        a worker has one loop for its life; an in-process test client may start another."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._local, self._shared = loop, None, None
            self._refused.clear()
            self._refused_tokens.clear()

    def _shared_failed(self, exc: StorageError) -> None:
        now = self._clock()
        self._shared_down_until = now + RETRY_SHARED_SECONDS
        self._refused.clear()
        self._refused_tokens.clear()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            self._logged_at = now
            cause = exc.storage_error
            log.error("rate limit counters: Redis does not answer (%s: %s); each process "
                      "limits on its own counters until it does", type(cause).__name__, cause)


def _redis_storage(uri: str) -> Storage:
    """Short timeouts and no retries inside the client: a Redis that does not answer must
    cost a request half a second at most, once, before the process stops asking for a while."""
    options: dict[str, Any] = {"socket_connect_timeout": REDIS_TIMEOUT,
                               "socket_timeout": REDIS_TIMEOUT, "retry_on_timeout": False}
    return RedisStorage(uri, wrap_exceptions=True, implementation="redispy",
                        key_prefix=KEY_PREFIX, **options)


class RefuseWhileLimited:
    """Answers a SCIM request whose credentials were refused a moment ago, before anything else
    inside the SCIM mount runs: no route, no token lookup, no audit, no database.

    What makes a limited request cost almost nothing. The first refusal of a window goes the
    whole way (the token is looked up, the counters asked); the rest of the window is answered
    here from memory, by the SHA-256 of the request's ``Authorization`` header, with the same
    429, ``Retry-After`` and body, for at most :data:`HOLD_SECONDS`, after which the token is
    looked up again. Only the very credentials refused are: another token, or none, goes
    through as usual. So a ``scimhub tenant limit`` change holds within a second for a tenant
    being refused (at once for any other), and a token revoked meanwhile gets 429 rather than
    401 for that second; either way nothing is served to it.
    """

    def __init__(self, app: ASGIApp, limits: TenantRateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.limits.refusing:
            for name, value in scope["headers"]:
                if name == b"authorization":
                    found = self.limits.refused(value)
                    if found is not None:
                        tenant, error = found
                        scope.setdefault("state", {})["tenant"] = tenant  # for the log
                        response = error_response(error, {"Retry-After": str(error.retry_after)})
                        await response(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)
