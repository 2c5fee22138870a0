"""Throttling wrong passwords by e-mail *and* client address.

Three limits, each "so many failures within fifteen minutes lock for fifteen minutes":

- **5 for one e-mail from one address.** The lock holds for that pair only, so
  anyone who knows an admin's e-mail can lock it out from *their own* address,
  never from the admin's.
- **20 from one address, whatever the e-mails** (password spraying: one guess
  on each of many accounts). The whole address is locked.
- **100 for one e-mail from any addresses** (a distributed attack from many
  addresses). The trade-off: this lock does hold everywhere, so an attacker with
  twenty addresses can lock an admin out for fifteen minutes; without it, an
  attacker with many addresses could guess one password without limit. 100 is
  far above what a person mistyping produces and still caps guessing at 100
  per half hour.

Failures are counted in the database, so every server process agrees; while a
limit holds, no password is checked and nothing is counted, so a lock ends on
time however often it is tried. The address is what the server saw as the
peer (see ``scimhub serve --forwarded-allow-ips``), an IPv6 one as its /64.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from scimhub.store.login_failures import Failures, LoginFailureStore


class Scope(Enum):
    """What a lock applies to."""

    PAIR = "this e-mail from this address"
    CLIENT = "this address"
    EMAIL = "this e-mail"


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5            # one e-mail from one address
    max_per_client: int = 20         # one address, any e-mails
    max_per_email: int = 100         # one e-mail, any addresses
    window: int = 15 * 60
    duration: int = 15 * 60

    @property
    def horizon(self) -> int:
        """How far back a failure can still matter."""
        return self.window + self.duration


@dataclass(frozen=True)
class Lock:
    until: int
    scope: Scope


def lock_end(failures: Sequence[int], limit: int, policy: LockoutPolicy) -> int | None:
    """When the latest lock caused by ``failures`` (times, oldest first) ends, if any:
    ``limit`` failures within the policy's window lock for its duration."""
    end: int | None = None
    recent: deque[int] = deque()
    for at in failures:
        if end is not None and at < end:
            continue
        recent.append(at)
        while recent[0] <= at - policy.window:
            recent.popleft()
        if len(recent) >= limit:
            end = at + policy.duration
            recent.clear()
    return end


class Lockout:
    def __init__(self, store: LoginFailureStore, policy: LockoutPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.policy = policy or LockoutPolicy()
        self.clock = clock

    def locked(self, email: str, client: str | None) -> Lock | None:
        """The lock that stops ``email`` signing in from ``client``, or None when it may try
        a password."""
        now = int(self.clock())
        return self._active(self.store.since(email, client, now - self.policy.horizon), now)

    def failed(self, email: str, client: str | None) -> Lock | None:
        """Count a wrong password; the lock it caused, if it caused one."""
        now = int(self.clock())
        failures = self.store.record(email, client, now, now - self.policy.horizon)
        return self._active(failures, now)

    def succeeded(self, email: str, client: str | None) -> None:
        """The right password from this address forgets its failures on this e-mail."""
        self.store.clear(email, client)

    def _active(self, failures: Failures, now: int) -> Lock | None:
        """The lock that ends last among those in force (the one worth telling about)."""
        p = self.policy
        candidates = (
            (lock_end(failures.pair, p.max_failures, p), Scope.PAIR),
            (lock_end(failures.client, p.max_per_client, p), Scope.CLIENT),
            (lock_end(failures.email, p.max_per_email, p), Scope.EMAIL),
        )
        active = [Lock(end, scope) for end, scope in candidates if end is not None and end > now]
        return max(active, key=lambda lock: lock.until, default=None)
