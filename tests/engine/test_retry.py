"""Retries at the target boundary: back-off with full jitter for transient failures, Retry-After
for 429, nothing for what retrying cannot fix. A MockTransport plays the misbehaving target
(scimhub cannot be made to answer 503 or 429 on demand); sleeping and time are fakes, so no test
waits for real or depends on timing."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from scimhub.engine.errors import (
    Conflict,
    CredentialsRejected,
    Rejected,
    TargetError,
    Throttled,
    Transient,
)
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.target.retry import RetryPolicy, parse_retry_after

Answer = httpx.Response | Exception
def answer_created() -> httpx.Response:
    return httpx.Response(201, json={"id": "1", "userName": "a"})


class FakeClock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Replay:
    """A transport answering from a script, one answer per request, recording what it got."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.seen: list[str] = []
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def run(replay: Replay, clock: FakeClock, call: Callable[[ScimTarget], Awaitable[Any]],
        **options: Any) -> tuple[Any, ScimTarget]:
    options.setdefault("policy", RetryPolicy(max_attempts=4))

    async def scenario() -> tuple[Any, ScimTarget]:
        async with ScimTarget("http://target.example/scim/v2", "secret",
                              transport=replay.transport, sleep=clock.sleep, clock=clock,
                              rng=random.Random(7), **options) as target:
            return await call(target), target

    return asyncio.run(scenario())


def create(target: ScimTarget) -> Awaitable[dict[str, Any]]:
    return target.create("Users", {"userName": "a"})


def read(target: ScimTarget) -> Awaitable[dict[str, Any] | None]:
    """A request that is safe to resend (a create is not: see test_lost_answers_client.py)."""
    return target.get("Users", "1")


def test_503_503_200_is_retried_twice_with_jittered_backoff() -> None:
    replay, clock = Replay(httpx.Response(503), httpx.Response(503), answer_created()), FakeClock()
    created, target = run(replay, clock, read)
    assert created["id"] == "1"
    assert replay.seen == ["GET /scim/v2/Users/1"] * 3
    assert (target.requests, target.retries, target.throttled) == (3, 2, 0)
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.5 and 0 <= clock.sleeps[1] <= 1.0, clock.sleeps


def test_timeouts_and_connection_errors_are_transient_and_retried() -> None:
    replay = Replay(httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), answer_created())
    outcomes: list[Any] = []
    created, target = run(replay, FakeClock(), read,
                          on_attempt=lambda *attempt: outcomes.append(attempt))
    assert created["id"] == "1" and target.retries == 2
    first, second, third = outcomes
    assert isinstance(first[2], Transient) and first[2].code == "Timeout"
    assert "no answer within 30 s" in first[2].detail
    assert isinstance(second[2], Transient) and second[2].code == "WebExceptionProtocolError"
    assert third[2] == 201
    assert [o[3] for o in outcomes] == [1, 2, 3]
    assert {o[:2] for o in outcomes} == {("GET", "http://target.example/scim/v2/Users/1")}


def test_429_waits_for_retry_after_seconds_instead_of_backing_off() -> None:
    replay = Replay(httpx.Response(429, headers={"Retry-After": "2"}), answer_created())
    clock = FakeClock()
    _, target = run(replay, clock, create)
    assert clock.sleeps == [2.0]
    assert (target.requests, target.retries, target.throttled) == (2, 1, 1)


def test_429_with_an_http_date_waits_until_that_date() -> None:
    replay = Replay(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}),
                    answer_created())
    clock = FakeClock()
    before = time.time()
    run(replay, clock, create, policy=RetryPolicy(max_retry_after=10**10))
    after = time.time()
    date = 4096250880.0  # Wed, 21 Oct 2099 07:28:00 GMT in seconds since the epoch
    assert len(clock.sleeps) == 1
    assert date - after <= clock.sleeps[0] <= date - before, clock.sleeps


def test_retry_after_is_capped_by_max_retry_after() -> None:
    replay = Replay(httpx.Response(429, headers={"Retry-After": "3600"}), answer_created())
    clock = FakeClock()
    run(replay, clock, create)
    assert clock.sleeps == [120.0]


def test_429_without_retry_after_backs_off_like_any_transient_failure() -> None:
    replay, clock = Replay(httpx.Response(429), answer_created()), FakeClock()
    run(replay, clock, create, policy=RetryPolicy(jitter=False, base_delay=0.25))
    assert clock.sleeps == [0.25]


def test_a_429_pauses_every_request_to_the_target_not_only_its_own() -> None:
    replay = Replay(httpx.Response(429, headers={"Retry-After": "5"}), answer_created())
    clock = FakeClock()

    async def two_requests(target: ScimTarget) -> dict[str, Any]:
        with pytest.raises(Throttled) as throttled:
            await target.create("Users", {"userName": "first"})  # not retried: max_attempts=1
        assert throttled.value.retry_after == 5.0
        assert clock.sleeps == []
        return await target.create("Users", {"userName": "second"})

    run(replay, clock, two_requests, policy=RetryPolicy(max_attempts=1))
    assert clock.sleeps == [5.0]


def test_exhausted_retries_raise_the_last_transient_error() -> None:
    replay = Replay(httpx.Response(503), httpx.ReadTimeout("slow"), httpx.Response(502))
    with pytest.raises(Transient) as raised:
        run(replay, FakeClock(), read, policy=RetryPolicy(max_attempts=3))
    assert raised.value.status == 502 and raised.value.code == "InternalServerError"
    assert len(replay.seen) == 3


@pytest.mark.parametrize(("status", "raised", "code"), [
    (400, Rejected, "UnprocessableEntity"),
    (409, Conflict, "Conflict"),
    (404, Rejected, "NotFound"),
    (401, CredentialsRejected, "Unauthorized"),
    (403, CredentialsRejected, "InsufficientRights"),
    (501, Rejected, "NotImplemented"),
])
def test_what_retrying_cannot_fix_is_raised_at_once(status: int, raised: type[TargetError],
                                                    code: str) -> None:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status),
            "scimType": "invalidValue", "detail": "no"}
    replay, clock = Replay(httpx.Response(status, json=body)), FakeClock()
    with pytest.raises(raised) as error:
        run(replay, clock, create)
    assert not isinstance(error.value, Transient)
    assert (error.value.code, error.value.status, error.value.scim_type) == (code, status,
                                                                            "invalidValue")
    assert "no" in error.value.detail
    assert len(replay.seen) == 1 and clock.sleeps == []


def test_backoff_doubles_up_to_max_delay_without_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=False)
    rng = random.Random(0)
    assert [policy.backoff(n, rng) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_draws_anywhere_below_the_ceiling() -> None:
    policy, rng = RetryPolicy(base_delay=1.0, max_delay=8.0), random.Random(1)
    draws = [policy.backoff(4, rng) for _ in range(200)]
    assert all(0 <= d <= 8.0 for d in draws)
    assert min(draws) < 1.0 and max(draws) > 7.0, "full jitter spans the whole interval"


def test_retry_after_forms() -> None:
    """RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds."""
    now = 1445412470.0  # Wed, 21 Oct 2015 07:27:50 GMT
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: now) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=lambda: now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


def test_a_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)
