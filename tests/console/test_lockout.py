"""Five wrong passwords for one e-mail within fifteen minutes lock it for fifteen minutes."""

from __future__ import annotations

from scimhub.console.lockout import Lockout, LockoutPolicy, lock_end
from scimhub.store.database import Database
from scimhub.store.login_failures import LoginFailureStore

POLICY = LockoutPolicy()
MIN = 60


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_within_the_window_lock_for_the_duration() -> None:
    failures = [0, 1 * MIN, 2 * MIN, 3 * MIN, 4 * MIN]
    assert lock_end(failures, POLICY) == 4 * MIN + 15 * MIN


def test_four_failures_do_not_lock() -> None:
    assert lock_end([0, 1, 2, 3], POLICY) is None


def test_failures_spread_wider_than_the_window_do_not_lock() -> None:
    assert lock_end([0, 4 * MIN, 8 * MIN, 12 * MIN, 16 * MIN], POLICY) is None


def test_counting_starts_afresh_after_a_lock() -> None:
    first = [0, 1, 2, 3, 4]
    after = [16 * MIN, 17 * MIN]
    assert lock_end(first + after, POLICY) == 4 + 15 * MIN


def _lockout(db: Database, clock: FakeClock) -> Lockout:
    return Lockout(LoginFailureStore(db), POLICY, clock)


def test_lockout_holds_across_instances_sharing_the_database(db: Database) -> None:
    clock = FakeClock()
    one, other = _lockout(db, clock), _lockout(db, clock)
    for _ in range(4):
        assert one.failed("Admin@Acme.example") is None
        clock.now += 10
    until = other.failed("admin@acme.example ")
    assert until == int(clock.now) + 15 * MIN
    assert one.locked_until("ADMIN@acme.example") == until


def test_lock_ends_after_fifteen_minutes(db: Database) -> None:
    clock = FakeClock()
    lockout = _lockout(db, clock)
    for _ in range(5):
        lockout.failed("a@example.com")
    assert lockout.locked_until("a@example.com") is not None
    clock.now += 15 * MIN - 1
    assert lockout.locked_until("a@example.com") is not None
    clock.now += 1
    assert lockout.locked_until("a@example.com") is None
    assert lockout.failed("a@example.com") is None


def test_success_clears_the_count(db: Database) -> None:
    clock = FakeClock()
    lockout = _lockout(db, clock)
    for _ in range(4):
        lockout.failed("a@example.com")
    lockout.succeeded("a@example.com")
    assert lockout.failed("a@example.com") is None


def test_one_email_locked_leaves_others_alone(db: Database) -> None:
    lockout = _lockout(db, FakeClock())
    for _ in range(5):
        lockout.failed("a@example.com")
    assert lockout.locked_until("b@example.com") is None


def test_old_failures_are_forgotten(db: Database) -> None:
    clock = FakeClock()
    store = LoginFailureStore(db)
    lockout = Lockout(store, POLICY, clock)
    lockout.failed("old@example.com")
    clock.now += POLICY.horizon + 1
    lockout.failed("new@example.com")
    assert store.since("old@example.com", 0) == []
