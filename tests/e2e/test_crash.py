"""SIGKILL under a write load: every acknowledged write survives, none is half-done."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import CORE_GROUP, create_user, entra_user_body, unique
from tests.e2e.server import ServerProcess
from tests.support.postgres import temporary_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with ExitStack() as stack:
        if request.param == "postgresql":
            yield stack.enter_context(temporary_database())
        else:
            yield f"sqlite:///{tmp_path}/crash.db"


def test_acknowledged_writes_survive_sigkill(database: str, tmp_path: Path) -> None:
    server = ServerProcess(database=database, workdir=tmp_path)
    token = server.create_tenant("crash")["token"]
    headers = {"Authorization": f"Bearer {token}"}
    server.start()
    with httpx.Client(base_url=server.scim_url, headers=headers) as client:
        people = [create_user(client)["id"] for _ in range(5)]
    acknowledged_users: list[str] = []
    acknowledged_groups: list[str] = []
    sent_groups: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.scim_url, headers=headers, timeout=5) as c:
            while not stop.is_set():
                name = unique("crash")
                try:
                    if len(sent_groups) % 2:
                        sent_groups.append(name)
                        r = c.post("/Groups", json={"schemas": [CORE_GROUP], "displayName": name,
                                                    "members": [{"value": p} for p in people]})
                        if r.status_code == 201:
                            acknowledged_groups.append(name)
                    else:
                        sent_groups.append("")
                        r = c.post("/Users", json=entra_user_body(name))
                        if r.status_code == 201:
                            acknowledged_users.append(name)
                except httpx.TransportError:
                    return

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    assert server.process is not None
    server.process.kill()  # SIGKILL: no shutdown, no flush beyond what was committed
    server.process.wait()
    stop.set()
    for t in threads:
        t.join()
    assert acknowledged_users and acknowledged_groups, "the load never got going"

    server.process = None
    server.start()
    try:
        with httpx.Client(base_url=server.scim_url, headers=headers) as client:
            for name in acknowledged_users:
                found = client.get("/Users", params={"filter": f'userName eq "{name}"'}).json()
                assert found["totalResults"] == 1, f"acknowledged user {name} lost"
            listed = client.get("/Groups", params={"count": 1000}).json()["Resources"]
            by_name = {g["displayName"]: g for g in listed}
            for name in acknowledged_groups:
                assert name in by_name, f"acknowledged group {name} lost"
            for group in listed:
                members = sorted(m["value"] for m in group.get("members", []))
                assert members == sorted(people), f"{group['displayName']} is half-written"
    finally:
        server.stop()
