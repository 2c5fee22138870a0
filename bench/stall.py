"""Can one tenant's expensive request stall everybody else? Health-check latency under load.

Starts ``scimhub serve`` (one worker, a fresh SQLite file), then for each scenario sends
the expensive requests while another connection polls ``GET /healthz`` back to back, and
prints the health check's p50/max latency beside the duration and statuses of the
expensive requests. A server that runs request work on its event loop shows health
checks waiting as long as the expensive request; one that does not shows milliseconds.

Scenarios:

* ``patch``: the worst PATCH the server's limits allow. The user gets as many ``emails``
  as a multi-valued attribute may hold (``--values``, 100), then one PATCH carries as many
  ``replace emails[value co "@"].type`` operations as the PATCH work bound allows
  (``--operations``, 10,000 // 101 = 99): every operation visits every value. For a
  server without those limits, ``--values 40000 --operations 40`` sends what issue H2
  reported (0.9 MB, under the 1 MiB body limit).
* ``passwords``: 40 concurrent creates that carry a ``password`` (Argon2id each).
* ``filters``: 10 concurrent filters that must scan (``emails.value co`` with a sort)
  over 20,000 users.

    .venv/bin/python bench/stall.py                   # every scenario
    .venv/bin/python bench/stall.py --only patch      # one
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import Server, start_scimhub, stop

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCENARIOS = ("patch", "passwords", "filters")
#: The documented limits: values per multi-valued attribute, values one PATCH may visit.
MAX_VALUES, MAX_PATCH_WORK = 100, 10_000


class Poller:
    """``GET /healthz`` back to back on its own connection while ``running``."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latencies: list[float] = []
        self.running = True

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, trust_env=False, timeout=120) as client:
            while self.running:
                started = time.perf_counter()
                response = await client.get("/healthz")
                self.latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    print(f"  healthz answered {response.status_code}", flush=True)
                await asyncio.sleep(0.01)


async def measure(label: str, base: str, work: Callable[[], Awaitable[list[int]]]) -> None:
    """Run ``work`` while polling the health check; print both."""
    poller = Poller(base)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(0.2)  # a few idle samples first, then the load
    idle = len(poller.latencies)
    started = time.perf_counter()
    statuses = await work()
    elapsed = time.perf_counter() - started
    poller.running = False
    await task
    during = poller.latencies[idle:] or poller.latencies
    codes = ", ".join(f"{c} x{statuses.count(c)}" for c in sorted(set(statuses)))
    print(f"{label:<58} {elapsed * 1000:>9.0f} ms  [{codes}]   healthz p50 "
          f"{statistics.median(during) * 1000:7.1f} ms  max {max(during) * 1000:7.1f} ms  "
          f"({len(during)} checks)", flush=True)


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}


async def scenario_patch(server: Server, client: httpx.AsyncClient, values: int,
                         operations: int) -> None:
    emails = [{"value": f"{i}@e.co"} for i in range(values)]
    user = {"schemas": [USER], "userName": "big@example.com", "emails": emails}
    created = await client.post("/Users", content=compact(user))
    print(f"POST /Users with {values:,} emails ({len(created.request.content):,} bytes): "
          f"{created.status_code}", flush=True)
    if created.status_code != 201:
        return
    uid = created.json()["id"]
    ops = [{"op": "replace", "path": 'emails[value co "@"].type', "value": f"t{i}"}
           for i in range(operations)]
    body = {"schemas": [PATCH_OP], "Operations": ops}

    async def work() -> list[int]:
        response = await client.patch(f"/Users/{uid}", content=compact(body))
        return [response.status_code]

    await measure(f"PATCH: {operations} ops x {values:,} values", root(server), work)


async def scenario_passwords(server: Server, client: httpx.AsyncClient) -> None:
    async def one(i: int) -> int:
        user = {"schemas": [USER], "userName": f"pw{i}@example.com",
                "password": f"a long passphrase number {i}"}
        return (await client.post("/Users", json=user)).status_code

    async def work() -> list[int]:
        return list(await asyncio.gather(*(one(i) for i in range(40))))

    await measure("40 concurrent creates with a password", root(server), work)


async def scenario_filters(server: Server, client: httpx.AsyncClient, users: int) -> None:
    print(f"creating {users:,} users for the scanning filters ...", flush=True)
    sem = asyncio.Semaphore(8)

    async def create(i: int) -> None:
        async with sem:
            user = {"schemas": [USER], "userName": f"scan{i}@example.com",
                    "displayName": f"Scan {i:06d}",
                    "emails": [{"value": f"scan{i}@mail.example.com", "type": "work"}]}
            for _attempt in range(3):  # a connection the server closed: send it again
                try:
                    await client.post("/Users", json=user)
                    return
                except httpx.TransportError:
                    await asyncio.sleep(0.1)

    await asyncio.gather(*(create(i) for i in range(users)))

    async def one(i: int) -> int:
        params = {"filter": f'emails.value co "{i}9@mail"', "sortBy": "displayName"}
        return (await client.get("/Users", params=params)).status_code

    async def work() -> list[int]:
        return list(await asyncio.gather(*(one(i) for i in range(10))))

    await measure(f"10 concurrent scanning filters over {users:,} users", root(server), work)


def compact(doc: Any) -> bytes:
    """JSON without spaces: the body limit counts bytes."""
    return json.dumps(doc, separators=(",", ":")).encode()


def root(server: Server) -> str:
    return server.base_url.rsplit("/scim/v2", 1)[0]


async def run(server: Server, only: Sequence[str], args: argparse.Namespace) -> None:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers(server.token),
                                 trust_env=False, timeout=600, limits=limits) as client:
        async def idle() -> list[int]:
            await asyncio.sleep(1)
            return []

        await measure("idle (nothing else running)", root(server), idle)
        if "patch" in only:
            await scenario_patch(server, client, args.values, args.operations)
        if "passwords" in only:
            await scenario_passwords(server, client)
        if "filters" in only:
            await scenario_filters(server, client, args.users)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=SCENARIOS, action="append",
                    help="run only this scenario (repeatable)")
    ap.add_argument("--users", type=int, default=20_000,
                    help="users the scanning filters run over")
    ap.add_argument("--values", type=int, default=MAX_VALUES,
                    help="e-mails of the user the PATCH scenario patches")
    ap.add_argument("--operations", type=int, default=MAX_PATCH_WORK // (MAX_VALUES + 1),
                    help="operations of that PATCH, each visiting every e-mail")
    args = ap.parse_args(argv)
    only = args.only or list(SCENARIOS)
    print("$ .venv/bin/python bench/stall.py " + shlex.join(argv or sys.argv[1:]), flush=True)
    with tempfile.TemporaryDirectory(prefix="scimhub-stall-") as tmp:
        log = Path(tmp) / "server.log"
        server = start_scimhub(Path(tmp), log, workers=1)
        try:
            asyncio.run(run(server, only, args))
        finally:
            stop(server.proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
