"""The engine's SCIM client: retries, Retry-After, and the error tree, against a real server
where the server can produce the case, and a replayed transport where it cannot."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scimhub.provisioning.connection import check_connection
from scimhub.provisioning.errors import (
    CredentialsRejected,
    DuplicateTargetEntries,
    Rejected,
    Transient,
)
from scimhub.provisioning.target import RetryPolicy, ScimTarget
from tests.e2e.server import ServerProcess, free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("target")
    proc = ServerProcess(database=f"sqlite:///{workdir}/t.db", workdir=workdir)
    proc.tenants = {"t": proc.create_tenant("t")}  # type: ignore[attr-defined]
    proc.start()
    yield proc
    proc.stop()


def token(server: ServerProcess) -> str:
    return str(server.tenants["t"]["token"])  # type: ignore[attr-defined]


def test_round_trip_against_scimhub(server: ServerProcess) -> None:
    async def scenario() -> None:
        async with ScimTarget(server.scim_url, token(server)) as target:
            assert await target.find("Users", "userName", 'odd "name"') is None
            created = await target.create("Users", {"userName": 'odd "name"'})
            found = await target.find("Users", "userName", 'ODD "NAME"')
            assert found is not None and found["id"] == created["id"]
            await target.patch("Users", created["id"],
                               [{"op": "replace", "path": "title", "value": "x"}])
            assert (await target.get("Users", created["id"]) or {})["title"] == "x"
            with pytest.raises(Rejected) as rejected:
                await target.create("Users", {"userName": 'odd "name"'})
            assert rejected.value.code == "Conflict"
            assert await target.delete("Users", created["id"]) is True
            assert await target.delete("Users", created["id"]) is False
            assert await target.get("Users", created["id"]) is None
            assert target.requests == 9

    asyncio.run(scenario())


def test_wrong_token_is_credentials_rejected(server: ServerProcess) -> None:
    async def scenario() -> None:
        async with ScimTarget(server.scim_url, "scimhub_000000000000_wrong") as target:
            with pytest.raises(CredentialsRejected):
                await target.find("Users", "userName", "x")

    asyncio.run(scenario())


def replay(*responses: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[str]]:
    """Answers in order, as a target that cannot be made to misbehave on demand would."""
    seen: list[str] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), seen


def run_with(transport: httpx.MockTransport, sleeps: list[float]) -> dict:
    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def scenario() -> dict:
        async with ScimTarget("http://target/scim/v2", "t", transport=transport,
                              sleep=fake_sleep, policy=RetryPolicy(max_attempts=4)) as target:
            return await target.create("Users", {"userName": "a"})

    return asyncio.run(scenario())


def test_5xx_and_timeouts_are_retried_with_backoff() -> None:
    transport, seen = replay(httpx.Response(503), httpx.ReadTimeout("slow"),
                             httpx.Response(201, json={"id": "1"}))
    sleeps: list[float] = []
    assert run_with(transport, sleeps)["id"] == "1"
    assert len(seen) == 3 and len(sleeps) == 2
    assert all(0 <= s <= 1.0 for s in sleeps)


def test_429_waits_for_retry_after() -> None:
    transport, _ = replay(httpx.Response(429, headers={"Retry-After": "2"}),
                          httpx.Response(201, json={"id": "1"}))
    sleeps: list[float] = []
    run_with(transport, sleeps)
    assert sleeps == [2.0]


def test_retries_give_up_with_the_last_error_and_4xx_is_not_retried() -> None:
    transport, seen = replay(*[httpx.Response(500)] * 4)
    with pytest.raises(Transient):
        run_with(transport, [])
    assert len(seen) == 4
    bad_value = {"detail": "bad", "scimType": "invalidValue"}
    transport, seen = replay(httpx.Response(400, json=bad_value))
    with pytest.raises(Rejected) as rejected:
        run_with(transport, [])
    assert len(seen) == 1 and rejected.value.scim_type == "invalidValue"


def test_two_matches_are_duplicate_target_entries() -> None:
    """Entra logs MultipleEntriesInResponse; scimhub's uniqueness cannot produce it."""
    transport, _ = replay(httpx.Response(200, json={"Resources": [{"id": "1"}, {"id": "2"}]}))

    async def scenario() -> None:
        async with ScimTarget("http://target/scim/v2", "t", transport=transport) as target:
            await target.find("Users", "userName", "a")

    with pytest.raises(DuplicateTargetEntries):
        asyncio.run(scenario())


def test_connection_ok_and_failures(server: ServerProcess) -> None:
    good = asyncio.run(check_connection(server.scim_url, token(server)))
    assert good.ok, good.to_dict()
    bad = asyncio.run(check_connection(server.scim_url, "scimhub_000000000000_wrong"))
    assert not bad.ok and "token was rejected" in (bad.reason or "")
    nowhere = asyncio.run(check_connection(f"http://127.0.0.1:{free_port()}/scim/v2", "t"))
    assert not nowhere.ok and "cannot be reached" in (nowhere.reason or "")
    transport, _ = replay(httpx.Response(404))
    quarantined = asyncio.run(check_connection("http://target/scim/v2", "t", transport=transport))
    assert "404" in (quarantined.reason or "")


def test_connection_command_exit_codes(server: ServerProcess, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scimhub", "test-connection", *args],
                              capture_output=True, text=True, timeout=60, check=False)

    ok = run("--tenant-url", server.scim_url, "--token", token(server), "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    bad = run("--tenant-url", server.scim_url, "--token", "nope")
    assert bad.returncode == 1 and "token was rejected" in bad.stdout
    assert run("--tenant-url", server.scim_url).returncode == 2
