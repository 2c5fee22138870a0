"""Wrong passwords are throttled per e-mail and address, per address, and per e-mail.

Five for one e-mail from one address lock that pair; twenty from one address on any e-mails
lock the address; a hundred for one e-mail from any addresses lock the e-mail. Each within
fifteen minutes, each for fifteen minutes.
"""

from __future__ import annotations

import pytest

from scimhub.console.lockout import Lockout, LockoutPolicy, Scope, lock_end
from scimhub.store.database import Database
from scimhub.store.login_failures import LoginFailureStore, normalise_client

POLICY = LockoutPolicy()
MIN = 60
HERE, THERE = "203.0.113.7", "198.51.100.9"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_within_the_window_lock_for_the_duration() -> None:
    failures = [0, 1 * MIN, 2 * MIN, 3 * MIN, 4 * MIN]
    assert lock_end(failures, 5, POLICY) == 4 * MIN + 15 * MIN


def test_four_failures_do_not_lock() -> None:
    assert lock_end([0, 1, 2, 3], 5, POLICY) is None


def test_failures_spread_wider_than_the_window_do_not_lock() -> None:
    assert lock_end([0, 4 * MIN, 8 * MIN, 12 * MIN, 16 * MIN], 5, POLICY) is None


def test_counting_starts_afresh_after_a_lock() -> None:
    first = [0, 1, 2, 3, 4]
    after = [16 * MIN, 17 * MIN]
    assert lock_end(first + after, 5, POLICY) == 4 + 15 * MIN


def test_client_keys_group_an_ipv6_subscriber_and_unwrap_mapped_ipv4() -> None:
    assert normalise_client("2001:db8:1:2:aaaa::1") == normalise_client("2001:db8:1:2:bbbb::9")
    assert normalise_client("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert normalise_client("2001:db8:1:3::1") != normalise_client("2001:db8:1:2::1")
    assert normalise_client("::ffff:203.0.113.7") == "203.0.113.7"
    assert normalise_client(None) == "" and normalise_client("") == ""
    assert len(normalise_client("x" * 500)) == 64


def _lockout(db: Database, clock: FakeClock) -> Lockout:
    return Lockout(LoginFailureStore(db), POLICY, clock)


def test_lockout_holds_across_instances_sharing_the_database(db: Database) -> None:
    clock = FakeClock()
    one, other = _lockout(db, clock), _lockout(db, clock)
    for _ in range(4):
        assert one.failed("Admin@Acme.example", HERE) is None
        clock.now += 10
    lock = other.failed("admin@acme.example ", HERE)
    assert lock is not None and lock.scope is Scope.PAIR
    assert lock.until == int(clock.now) + 15 * MIN
    assert one.locked("ADMIN@acme.example", HERE) == lock


def test_a_lock_from_one_address_leaves_the_admin_free_elsewhere(db: Database) -> None:
    """Knowing an admin's e-mail is not enough to lock them out of their own desk."""
    lockout = _lockout(db, FakeClock())
    for _ in range(5):
        lockout.failed("admin@acme.example", THERE)
    assert lockout.locked("admin@acme.example", THERE) is not None
    assert lockout.locked("admin@acme.example", HERE) is None
    assert lockout.locked("other@acme.example", THERE) is None


def test_lock_ends_after_fifteen_minutes(db: Database) -> None:
    clock = FakeClock()
    lockout = _lockout(db, clock)
    for _ in range(5):
        lockout.failed("a@example.com", HERE)
    assert lockout.locked("a@example.com", HERE) is not None
    clock.now += 15 * MIN - 1
    assert lockout.locked("a@example.com", HERE) is not None
    clock.now += 1
    assert lockout.locked("a@example.com", HERE) is None
    assert lockout.failed("a@example.com", HERE) is None


def test_success_clears_the_count_of_its_own_address_only(db: Database) -> None:
    clock = FakeClock()
    lockout = _lockout(db, clock)
    for _ in range(4):
        lockout.failed("a@example.com", HERE)
        lockout.failed("a@example.com", THERE)
    lockout.succeeded("a@example.com", HERE)
    assert lockout.failed("a@example.com", HERE) is None
    lock = lockout.failed("a@example.com", THERE)
    assert lock is not None and lock.scope is Scope.PAIR


def test_spraying_many_emails_from_one_address_locks_the_address(db: Database) -> None:
    lockout = _lockout(db, FakeClock())
    for n in range(POLICY.max_per_client - 1):
        assert lockout.failed(f"user{n}@acme.example", THERE) is None
    lock = lockout.failed("last@acme.example", THERE)
    assert lock is not None and lock.scope is Scope.CLIENT
    blocked = lockout.locked("never-tried@acme.example", THERE)
    assert blocked is not None and blocked.scope is Scope.CLIENT
    assert lockout.locked("never-tried@acme.example", HERE) is None


def test_a_success_does_not_reset_the_count_of_a_spraying_address(db: Database) -> None:
    """Signing in to one's own account does not buy more guesses on everyone else's."""
    lockout = _lockout(db, FakeClock())
    for n in range(POLICY.max_per_client - 1):
        lockout.failed(f"user{n}@acme.example", THERE)
    lockout.succeeded("attacker@acme.example", THERE)
    lock = lockout.failed("one-more@acme.example", THERE)
    assert lock is not None and lock.scope is Scope.CLIENT


def test_many_addresses_on_one_email_lock_it_everywhere(db: Database) -> None:
    lockout = _lockout(db, FakeClock())
    for n in range(POLICY.max_per_email - 1):
        assert lockout.failed("admin@acme.example", f"10.0.{n // 4}.{n % 4}") is None
    lock = lockout.failed("admin@acme.example", "10.9.9.9")
    assert lock is not None and lock.scope is Scope.EMAIL
    assert lockout.locked("admin@acme.example", HERE) == lock


@pytest.mark.parametrize("unknown", [None, ""])
def test_an_unknown_address_is_not_throttled_as_one_address(db: Database,
                                                            unknown: str | None) -> None:
    """Without an address every client would share one spraying count: one attacker
    could then lock everyone whose address is unknown."""
    lockout = _lockout(db, FakeClock())
    for n in range(POLICY.max_per_client + 5):
        lockout.failed(f"user{n}@acme.example", unknown)
    assert lockout.locked("someone@acme.example", unknown) is None
    for _ in range(4):
        lockout.failed("someone@acme.example", unknown)
    lock = lockout.failed("someone@acme.example", unknown)
    assert lock is not None and lock.scope is Scope.PAIR


def test_old_failures_are_forgotten(db: Database) -> None:
    clock = FakeClock()
    store = LoginFailureStore(db)
    lockout = Lockout(store, POLICY, clock)
    lockout.failed("old@example.com", HERE)
    clock.now += POLICY.horizon + 1
    lockout.failed("new@example.com", HERE)
    left = store.since("old@example.com", HERE, 0)
    assert left.pair == [] and left.email == []
    assert store.since("new@example.com", HERE, 0).client == [int(clock.now)]
