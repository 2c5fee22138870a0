"""No lost or duplicated write when requests race, on two worker processes per database."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from scimhub.store.database import Database
from scimhub.store.tables import group_members, groups, users
from tests.e2e.helpers import PATCH_OP, create_group, create_user, entra_user_body, unique
from tests.e2e.server import ServerProcess
from tests.support.postgres import temporary_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def workers(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``scimhub serve --workers 2``: the requests of one test land on both processes."""
    workdir: Path = tmp_path_factory.mktemp(f"races-{request.param}")
    with ExitStack() as stack:
        url = (stack.enter_context(temporary_database()) if request.param == "postgresql"
               else f"sqlite:///{workdir}/races.db")
        proc = ServerProcess(database=url, workdir=workdir, workers=2)
        proc.tenants = {"race": proc.create_tenant("race")}  # type: ignore[attr-defined]
        proc.start()
        stack.callback(proc.stop)
        yield proc


def client_for(server: ServerProcess) -> httpx.Client:
    token = server.tenants["race"]["token"]  # type: ignore[attr-defined]
    return httpx.Client(base_url=server.scim_url, timeout=60,
                        headers={"Authorization": f"Bearer {token}"})


def race(server: ServerProcess, n: int, request: Callable[[httpx.Client, int], httpx.Response]
         ) -> list[httpx.Response]:
    """Fire ``n`` requests at once, each on its own connection, released by one barrier."""
    barrier = threading.Barrier(n)

    def one(i: int) -> httpx.Response:
        with client_for(server) as client:
            client.get("/ServiceProviderConfig")  # connect before the barrier
            barrier.wait()
            return request(client, i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_concurrent_creates_of_one_user_name_give_one_201(workers: ServerProcess) -> None:
    name = unique("racer")
    responses = race(workers, 50, lambda c, _i: c.post("/Users", json=entra_user_body(name)))
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 49}
    with client_for(workers) as client:
        found = client.get("/Users", params={"filter": f'userName eq "{name}"'}).json()
    assert found["totalResults"] == 1


def test_concurrent_patches_with_one_if_match_give_one_success(workers: ServerProcess) -> None:
    with client_for(workers) as client:
        user = create_user(client)
    tag = user["meta"]["version"]

    def patch(c: httpx.Client, i: int) -> httpx.Response:
        return c.patch(f"/Users/{user['id']}", headers={"If-Match": tag}, json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "nickName", "value": f"n{i}"}]})

    responses = race(workers, 20, patch)
    assert Counter(r.status_code for r in responses) == {200: 1, 412: 19}
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    with client_for(workers) as client:
        assert client.get(f"/Users/{user['id']}").json()["nickName"] == f"n{winner}"


def test_concurrent_member_adds_lose_nothing(workers: ServerProcess) -> None:
    with client_for(workers) as client:
        people = [create_user(client)["id"] for _ in range(40)]
        group = create_group(client)

    def add(c: httpx.Client, i: int) -> httpx.Response:
        mine = people[2 * i: 2 * i + 2]
        return c.patch(f"/Groups/{group['id']}", json={"schemas": [PATCH_OP], "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": m} for m in mine]}]})

    responses = race(workers, 20, add)
    assert Counter(r.status_code for r in responses) == {204: 20}, [
        r.text for r in responses if r.status_code != 204]
    with client_for(workers) as client:
        members = client.get(f"/Groups/{group['id']}").json()["members"]
    assert sorted(m["value"] for m in members) == sorted(people)
    assert len(members) == 40


def test_burst_of_creates_and_deletes_leaves_no_orphan_memberships(
        workers: ServerProcess) -> None:
    """Ten users are deleted while ten PATCHes add members. Five of the PATCHes add only the
    ten users that stay: each must succeed. Five also add the users being deleted: each
    either wins (204, and the delete then removes those rows) or finds a user gone (400
    invalidValue, nothing applied). Either way no membership row may outlive its user."""
    with client_for(workers) as client:
        people = [create_user(client)["id"] for _ in range(20)]
        group = create_group(client)
    staying, leaving = people[0::2], people[1::2]

    def churn(c: httpx.Client, i: int) -> httpx.Response:
        if i % 2:
            return c.delete(f"/Users/{leaving[i // 2]}")
        added = staying if i % 4 == 0 else people
        return c.patch(f"/Groups/{group['id']}", json={"schemas": [PATCH_OP], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": p} for p in added]}]})

    responses = race(workers, 20, churn)
    deletes, safe_adds, racing_adds = responses[1::2], responses[0::4], responses[2::4]
    assert Counter(r.status_code for r in deletes) == {204: 10}, [r.text for r in deletes]
    assert Counter(r.status_code for r in safe_adds) == {204: 5}, [r.text for r in safe_adds]
    for response in racing_adds:
        assert response.status_code in (204, 400), response.text
        if response.status_code == 400:
            assert response.json()["scimType"] == "invalidValue", response.text
    with client_for(workers) as client:
        members = client.get(f"/Groups/{group['id']}").json().get("members", [])
        assert all(client.get(f"/Users/{p}").status_code == 404 for p in leaving)
    assert sorted(m["value"] for m in members) == sorted(staying)
    database = Database(workers.database)
    try:
        with database.engine.connect() as conn:
            orphans = conn.execute(
                select(func.count()).select_from(group_members).where(
                    ~group_members.c.member_id.in_(select(users.c.id)),
                    ~group_members.c.member_id.in_(select(groups.c.id)))).scalar()
            rows = conn.execute(select(func.count()).select_from(group_members).where(
                group_members.c.group_id == group["id"])).scalar()
    finally:
        database.dispose()
    assert orphans == 0
    assert rows == 10, "one row per staying member"
