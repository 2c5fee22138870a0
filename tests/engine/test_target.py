"""The engine's SCIM client against a real ``scimhub serve``; a MockTransport only where scimhub
cannot produce the case (two matches for a unique userName, a success without an id) or where
the test is about the exact bytes on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from scimhub import __version__
from scimhub.engine.errors import (
    Conflict,
    CredentialsRejected,
    DuplicateTargetEntries,
    Rejected,
    ServiceIncompatible,
    Unreachable,
)
from scimhub.engine.target.client import ScimTarget, match_filter
from tests.e2e.server import ServerProcess
from tests.engine.live import EMPTY_LIST, token

WRONG_TOKEN = "scimhub_000000000000_wrong"


def against(server: ServerProcess, scenario: Callable[[ScimTarget], Awaitable[None]],
            secret: str | None = None) -> None:
    async def run() -> None:
        async with ScimTarget(server.scim_url, secret or token(server)) as target:
            await scenario(target)

    asyncio.run(run())


def mocked(handler: Callable[[httpx.Request], Any],
           scenario: Callable[[ScimTarget], Awaitable[Any]], **options: Any) -> Any:
    async def run() -> Any:
        async with ScimTarget("http://target.example/scim/v2", "secret",
                              transport=httpx.MockTransport(handler), **options) as target:
            return await scenario(target)

    return asyncio.run(run())


def test_user_round_trip_find_create_get_patch_delete(server: ServerProcess) -> None:
    async def scenario(target: ScimTarget) -> None:
        assert await target.find("Users", "userName", "ada@contoso.example") is None
        created = await target.create("Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@contoso.example", "active": True})
        found = await target.find("Users", "userName", "ADA@contoso.example")
        assert found is not None and found["id"] == created["id"], "userName is caseExact false"
        await target.patch("Users", created["id"],
                           [{"op": "Replace", "path": "title", "value": "Countess"}])
        assert (await target.get("Users", created["id"]) or {}).get("title") == "Countess"
        assert await target.delete("Users", created["id"]) is True
        assert await target.get("Users", created["id"]) is None
        assert await target.delete("Users", created["id"]) is False, "404: already deleted"
        assert (target.requests, target.retries, target.throttled) == (8, 0, 0)

    against(server, scenario)


def test_find_escapes_quotes_and_backslashes_in_the_value(server: ServerProcess) -> None:
    odd = 'o"brien\\admin'

    async def scenario(target: ScimTarget) -> None:
        created = await target.create("Users", {"userName": odd})
        found = await target.find("Users", "userName", odd)
        assert found is not None and found["id"] == created["id"]
        assert found["userName"] == odd
        assert await target.find("Users", "userName", 'o"brien') is None

    against(server, scenario)


def test_group_round_trip_with_members_and_excluded_members(server: ServerProcess) -> None:
    async def scenario(target: ScimTarget) -> None:
        user = await target.create("Users", {"userName": "grace@contoso.example"})
        group = await target.create("Groups", {"displayName": "Pioneers"})
        await target.patch("Groups", group["id"],
                           [{"op": "Add", "path": "members", "value": [{"value": user["id"]}]}])
        found = await target.find("Groups", "displayName", "pioneers")
        assert found is not None and found["id"] == group["id"]
        assert "members" not in found, "find asks for excludedAttributes=members"
        with_members = await target.find("Groups", "displayName", "Pioneers",
                                         exclude_members=False)
        assert with_members is not None
        assert [m["value"] for m in with_members["members"]] == [user["id"]]
        assert await target.delete("Groups", group["id"]) is True

    against(server, scenario)


def test_creating_an_existing_user_is_a_conflict(server: ServerProcess) -> None:
    async def scenario(target: ScimTarget) -> None:
        await target.create("Users", {"userName": "alan@contoso.example"})
        with pytest.raises(Conflict) as conflict:
            await target.create("Users", {"userName": "Alan@contoso.example"})
        assert (conflict.value.code, conflict.value.status) == ("Conflict", 409)
        assert conflict.value.scim_type == "uniqueness"
        assert isinstance(conflict.value, Rejected), "recorded against the object"
        assert target.retries == 0

    against(server, scenario)


def test_an_invalid_patch_is_rejected_with_the_targets_scim_type(server: ServerProcess) -> None:
    async def scenario(target: ScimTarget) -> None:
        user = await target.create("Users", {"userName": "edsger@contoso.example"})
        with pytest.raises(Rejected) as rejected:
            await target.patch("Users", user["id"], [{"op": "jump", "path": "title"}])
        assert rejected.value.status == 400 and rejected.value.scim_type
        assert target.retries == 0

    against(server, scenario)


def test_a_wrong_token_is_credentials_rejected_and_fatal(server: ServerProcess) -> None:
    async def scenario(target: ScimTarget) -> None:
        with pytest.raises(CredentialsRejected) as rejected:
            await target.find("Users", "userName", "anyone")
        assert (rejected.value.status, rejected.value.code) == (401, "Unauthorized")
        assert isinstance(rejected.value, Unreachable), "the job stops: the caller quarantines"
        assert target.requests == 1, "not retried"

    against(server, scenario, secret=WRONG_TOKEN)


def test_probe_passes_against_scimhub(server: ServerProcess) -> None:
    async def scenario(target: ScimTarget) -> None:
        await target.probe()
        assert target.requests == 2

    against(server, scenario)


def test_match_queries_are_encoded_as_entra_sends_them() -> None:
    """docs/entra.md §1.2: ``+`` for spaces, ``%22`` for quotes; groups without their members."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=EMPTY_LIST)

    async def scenario(target: ScimTarget) -> None:
        await target.find("Users", "userName", "ada lovelace@contoso.example")
        await target.find("Groups", "displayName", 'say "hi"')

    mocked(handler, scenario)
    assert [r.url.raw_path.decode() for r in seen] == [
        "/scim/v2/Users?filter=userName+eq+%22ada+lovelace%40contoso.example%22",
        "/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+%22say+%5C%22hi%5C%22%22",
    ]
    assert match_filter("userName", 'a"b\\c') == 'userName eq "a\\"b\\\\c"'


def test_requests_carry_the_token_scim_content_type_and_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(201, json={"id": "u1"})
        return httpx.Response(204)

    async def scenario(target: ScimTarget) -> None:
        await target.create("Users", {"userName": "a"})
        await target.patch("Users", "u1", [{"op": "replace", "path": "active", "value": False}])

    mocked(handler, scenario)
    post, patch = seen
    assert post.headers["authorization"] == "Bearer secret"
    assert post.headers["content-type"] == "application/scim+json"
    assert post.headers["user-agent"] == f"scimhub/{__version__}"
    assert httpx.Response(200, content=patch.content).json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert patch.url.path == "/scim/v2/Users/u1"


def test_two_matches_are_duplicate_target_entries() -> None:
    """Entra logs MultipleEntriesInResponse; scimhub's unique userName cannot produce it."""
    twins = {"totalResults": 2, "Resources": [{"id": "1", "userName": "a"},
                                              {"id": "2", "userName": "a"}]}
    with pytest.raises(DuplicateTargetEntries) as duplicates:
        mocked(lambda _: httpx.Response(200, json=twins),
               lambda target: target.find("Users", "userName", "a"))
    assert duplicates.value.code == (
        "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse")


@pytest.mark.parametrize("answer", [
    httpx.Response(201, json={"userName": "a"}),
    httpx.Response(201, text="<html>created</html>"),
    httpx.Response(202, json={"id": "1"}),
    httpx.Response(302, headers={"Location": "https://elsewhere.example/scim/v2/Users"}),
], ids=["no-id", "not-json", "202", "redirect"])
def test_a_create_answer_without_a_readable_resource_is_service_incompatible(
        answer: httpx.Response) -> None:
    with pytest.raises(ServiceIncompatible) as incompatible:
        mocked(lambda _: answer, lambda target: target.create("Users", {"userName": "a"}))
    assert incompatible.value.code == "SystemForCrossDomainIdentityManagementServiceIncompatible"


def test_probe_404_is_fatal_for_the_job() -> None:
    """docs/entra.md §1.2: a 404 for the probe's empty filter quarantines Entra's jobs."""
    with pytest.raises(Unreachable) as unreachable:
        mocked(lambda _: httpx.Response(404), lambda target: target.probe())
    assert unreachable.value.status == 404


def test_concurrency_bounds_requests_in_flight() -> None:
    in_flight, peak = 0, 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        return httpx.Response(200, json=EMPTY_LIST)

    async def scenario(target: ScimTarget) -> None:
        await asyncio.gather(*(target.find("Users", "userName", f"u{n}") for n in range(20)))

    mocked(handler, scenario, concurrency=3)
    assert peak == 3
