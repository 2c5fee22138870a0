"""A worker whose lease was taken over during a cycle stops: a job never runs in two places.

The lease is renewed at every flush of the cycle's state; here another worker takes the
job over while the cycle runs (as after this worker was paused longer than its lease),
and the cycle must stop at its next renewal, keeping what it already did.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from scimhub.engine.config import load_jobs
from scimhub.engine.runner import LeaseLost, run_once
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.provisioning import EngineState
from scimhub.store.provisioning_tables import prov_jobs
from tests.e2e.server import ServerProcess
from tests.engine.live import token

USERS = 1_200


def write_job(tmp_path: Path, server: ServerProcess) -> Path:
    users = [{"objectId": f"u{n}", "userPrincipalName": f"lease{n}@contoso.example",
              "mail": f"lease{n}@contoso.example", "givenName": "L", "surname": str(n),
              "accountEnabled": True, "assigned": True} for n in range(USERS)]
    (tmp_path / "directory.json").write_text(json.dumps({"users": users, "groups": []}))
    path = tmp_path / "job.toml"
    path.write_text(f"""
[job]
name = "lease-lost"
lease = "5m"

[source]
type = "file"
path = "directory.json"

[target]
url = "{server.scim_url}"
token = "{token(server)}"
concurrency = 4
""")
    return path


def count_users(server: ServerProcess) -> int:
    response = httpx.get(f"{server.scim_url}/Users",
                         params={"filter": 'userName sw "lease"', "count": 1},
                         headers={"Authorization": f"Bearer {token(server)}"})
    return int(response.json()["totalResults"])


def test_a_cycle_stops_when_another_worker_takes_its_lease(
        server: ServerProcess, tmp_path: Path) -> None:
    job = load_jobs(write_job(tmp_path, server))[0]
    db = Database(f"sqlite:///{tmp_path}/engine.db")
    migrate(db)
    state = EngineState(db)
    stolen: list[str] = []

    def progress(phase: str, done: int, _total: int) -> None:
        if phase == "users" and done == 50 and not stolen:
            # Another worker found the lease expired and took the job over.
            record = state.job("lease-lost")
            assert record is not None
            with db.write() as tx:
                tx.execute(prov_jobs.update().where(prov_jobs.c.id == record.id)
                           .values(lease_owner="otherhost:1:feedbeef",
                                   lease_until="9999-12-31T23:59:59Z"))
            stolen.append(record.id)

    with pytest.raises(LeaseLost):
        asyncio.run(run_once(job, db, progress=progress))
    assert stolen, "the cycle never reached the point where the lease is taken"
    created = count_users(server)
    # It stopped at the first renewal after the takeover (every 500 objects), well short
    # of the whole directory, and the other worker's lease is untouched.
    assert 50 <= created < USERS, created
    assert state.lease_owner(stolen[0]) == "otherhost:1:feedbeef"
    # What it created before stopping is remembered, so nothing is created twice later
    # (but for the few creates in flight when it stopped, which the next match finds).
    linked = [k for k in state.load_objects(stolen[0]).values() if k.target_id]
    assert created - 2 * job.target.concurrency <= len(linked) <= created
