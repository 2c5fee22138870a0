"""The SCIM client's look-before-you-write, one lost answer at a time: the fault proxy loses the
answer to a chosen request (after or before the target saw it) and the test counts, on the
target and in the proxy, what the target received. Each runs against scimhub and against a
target that keeps duplicates (``permissive_target.py``), where a blind resend would show."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from scimhub.engine.errors import AnswerLost, Conflict
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.target.retry import RetryPolicy
from tests.e2e.server import ServerProcess, free_port
from tests.engine.fault_proxy import FaultProxy
from tests.engine.live import token
from tests.engine.permissive_target import PermissiveTarget
from tests.engine.test_lost_answers import scim_lister

FAST = RetryPolicy(base_delay=0.05, max_delay=0.2)


@dataclass
class Target:
    url: str
    token: str
    listed: Callable[[str], list[dict[str, Any]]]


@pytest.fixture(params=["scimhub", "permissive"])
def upstream(request: pytest.FixtureRequest, server: ServerProcess) -> Iterator[Target]:
    if request.param == "scimhub":
        yield Target(server.scim_url, token(server), scim_lister(server.scim_url, token(server)))
        return
    with PermissiveTarget(free_port()) as permissive:
        yield Target(permissive.scim_url, permissive.token, permissive.listed)


def through(upstream: Target, script: list[tuple[str, str, str]],
            scenario: Callable[[ScimTarget], Awaitable[Any]]) -> tuple[Any, FaultProxy]:
    """Run ``scenario`` through a proxy that injects only the scripted faults."""
    with FaultProxy(upstream.url, free_port(), rate=0.0, script=script) as proxy:
        async def run() -> Any:
            async with ScimTarget(proxy.url, upstream.token, policy=FAST) as target:
                return await scenario(target)

        return asyncio.run(run()), proxy


def named(upstream: Target, kind: str, attribute: str, value: str) -> list[dict[str, Any]]:
    return [r for r in upstream.listed(kind) if str(r.get(attribute)).lower() == value.lower()]


@pytest.mark.parametrize("fault", ["lost", "504"])
def test_a_create_whose_answer_is_lost_after_forwarding_is_found_not_sent_again(
        upstream: Target, fault: str) -> None:
    name = f"lost-{fault}@client.example"
    created, proxy = through(upstream, [("POST", "Users", fault)],
                             lambda t: t.create("Users", {"userName": name}))
    assert proxy.posts[f"Users:{name}"] == 1, "the POST reached the target once"
    on_target = named(upstream, "Users", "userName", name)
    assert [u["id"] for u in on_target] == [created["id"]]


def test_a_group_create_whose_answer_is_lost_is_linked_by_its_matching_attribute(
        upstream: Target) -> None:
    title = "Lost answers"
    created, proxy = through(upstream, [("POST", "Groups", "lost")], lambda t: t.create_or_find(
        "Groups", {"displayName": title}, [("displayName", title)], link_existing=True))
    assert created.found and created.recovered is not None
    assert created.recovered.startswith("recovered by lookup: the answer was lost")
    assert f'displayName eq "{title}"' in created.recovered
    assert proxy.posts[f"Groups:{title}"] == 1
    assert [g["id"] for g in named(upstream, "Groups", "displayName", title)] == [
        created.resource["id"]]


def test_a_create_dropped_before_forwarding_is_looked_for_then_sent_again(
        upstream: Target) -> None:
    """The client cannot tell a drop before forwarding from one after: it looks, finds
    nothing, and only then sends the POST again."""
    name = "dropped@client.example"
    created, proxy = through(upstream, [("POST", "Users", "drop")], lambda t: t.create_or_find(
        "Users", {"userName": name}, [("userName", name)]))
    assert not created.found and created.recovered is not None
    assert created.recovered.startswith("created on try 2")
    assert proxy.posts[f"Users:{name}"] == 1, "the dropped POST never reached the target"
    assert len(named(upstream, "Users", "userName", name)) == 1


def test_with_nothing_to_match_by_a_lost_create_is_raised_not_sent_again(
        upstream: Target) -> None:
    title = "Unmatched"

    async def scenario(target: ScimTarget) -> None:
        with pytest.raises(AnswerLost):
            await target.create_or_find("Groups", {"displayName": title}, [])

    _, proxy = through(upstream, [("POST", "Groups", "lost")], scenario)
    assert proxy.posts[f"Groups:{title}"] == 1


def test_a_conflict_on_the_first_try_is_linked_only_when_asked(server: ServerProcess) -> None:
    """Entra links an object that appeared between its match query and its create; a plain
    ``create`` keeps raising 409."""
    name = "appeared-meanwhile@client.example"

    async def scenario(target: ScimTarget) -> None:
        existing = await target.create("Users", {"userName": name})
        with pytest.raises(Conflict):
            await target.create("Users", {"userName": name})
        linked = await target.create_or_find("Users", {"userName": name}, [("userName", name)],
                                             link_existing=True)
        assert linked.found and linked.resource["id"] == existing["id"]
        assert linked.recovered is not None and "409 on the first try" in linked.recovered

    through(Target(server.scim_url, token(server), scim_lister(server.scim_url, token(server))),
            [], scenario)


@pytest.mark.parametrize("fault", ["lost", "504"])
def test_a_member_add_whose_answer_is_lost_is_checked_not_sent_again(
        upstream: Target, fault: str) -> None:
    """The permissive target keeps a member twice when the add is resent: the client asks
    the group which members it holds and resends nothing."""
    suffix = fault

    async def scenario(target: ScimTarget) -> tuple[str, list[str], str | None]:
        users = [(await target.create("Users", {"userName": f"m{i}-{suffix}@client.example"}))
                 ["id"] for i in range(3)]
        group = await target.create("Groups", {"displayName": f"Members {suffix}"})
        return group["id"], users, await target.add_members(group["id"], users)

    (group_id, users, note), proxy = through(upstream, [("PATCH", "Groups", fault)], scenario)
    assert proxy.injected_on[("PATCH", "Groups", fault)] == 1
    assert note is not None and note.endswith("3 were in the group, none sent again"), note
    group = next(g for g in upstream.listed("Groups") if g["id"] == group_id)
    assert sorted(m["value"] for m in group["members"]) == sorted(users), "each member once"
    assert proxy.answers[("PATCH", "Groups", 200)] + proxy.answers[("PATCH", "Groups", 204)] == 1
