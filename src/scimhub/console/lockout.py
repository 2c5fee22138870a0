"""Locking an e-mail out after repeated wrong passwords.

Five wrong passwords for one e-mail within fifteen minutes lock it for fifteen
minutes. Failures are counted in the database, so every server process
agrees; while an e-mail is locked no password is checked and nothing is
counted, so the lock ends on time however often it is tried.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scimhub.store.login_failures import LoginFailureStore


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: int = 15 * 60
    duration: int = 15 * 60

    @property
    def horizon(self) -> int:
        """How far back a failure can still matter."""
        return self.window + self.duration


def lock_end(failures: Sequence[int], policy: LockoutPolicy) -> int | None:
    """When the latest lock caused by ``failures`` (times, oldest first) ends, if any."""
    end: int | None = None
    recent: deque[int] = deque()
    for at in failures:
        if end is not None and at < end:
            continue
        recent.append(at)
        while recent[0] <= at - policy.window:
            recent.popleft()
        if len(recent) >= policy.max_failures:
            end = at + policy.duration
            recent.clear()
    return end


class Lockout:
    def __init__(self, store: LoginFailureStore, policy: LockoutPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.policy = policy or LockoutPolicy()
        self.clock = clock

    def locked_until(self, email: str) -> int | None:
        """The end of the lock on ``email``, or None when it may try a password."""
        now = int(self.clock())
        return self._active(self.store.since(email, now - self.policy.horizon), now)

    def failed(self, email: str) -> int | None:
        """Count a wrong password; the end of the lock it caused, if it caused one."""
        now = int(self.clock())
        failures = self.store.record(email, now, now - self.policy.horizon)
        return self._active(failures, now)

    def succeeded(self, email: str) -> None:
        self.store.clear(email)

    def _active(self, failures: Sequence[int], now: int) -> int | None:
        end = lock_end(failures, self.policy)
        return end if end is not None and end > now else None
