"""What the engine's mirror of a delta source costs at scale (engine/source_mirror.py).

100,000 users and 1,000 groups from a scripted delta source into an engine database on SQLite
(or PostgreSQL with ``--database``), without a target: the import step alone, as a cycle runs
it. Prints, for the initial complete read, a delta changing 1% of the users, an unchanged
answer and a complete re-read of the same directory: the time to load the mirror, apply the
answer and build the cycle's view, the time to save, and the rows written.

    .venv/bin/python bench/source_mirror.py [--users 100000] [--groups 1000] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import Any

from scimhub.engine.config import SourceConfig
from scimhub.engine.sample import sample_directory
from scimhub.engine.source_mirror import read_source
from scimhub.engine.sources import SOURCES
from scimhub.engine.sources.base import Snapshot, SourceCheck, SourceKind, Watermark
from scimhub.engine.sources.directory import Directory
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.provisioning import EngineState


class Scripted:
    description = "bench"

    def __init__(self) -> None:
        self.next: Snapshot = Snapshot(Directory(), "w0")

    async def read(self, since: Watermark | None = None) -> Snapshot:
        return self.next

    async def check(self) -> list[SourceCheck]:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    data = sample_directory(args.users, args.groups, args.members)
    users = {u["objectId"]: u for u in data["users"]}
    groups = {g["objectId"]: g for g in data["groups"]}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.database or f"sqlite:///{tmp}/engine.db")
        migrate(db)
        state = EngineState(db)
        job_id = state.ensure_job(f"bench-{time.time_ns()}", "http://bench", "0" * 64).id
        source = Scripted()
        SOURCES["bench"] = lambda _config: source
        config = SourceConfig("bench", None, {"type": "bench"})  # type: ignore[arg-type]

        def step(name: str, snapshot: Snapshot, initial: bool = False) -> None:
            source.next = snapshot
            started = time.perf_counter()
            read = asyncio.run(read_source(config, state, job_id, initial=initial))
            applied = time.perf_counter()
            read.save(state, job_id)
            saved = time.perf_counter()
            print(f"{name:<28} read+apply+view {applied - started:6.2f} s  save "
                  f"{saved - applied:6.2f} s  rows written {len(read.changed):>7}  "
                  f"removed {len(read.removed):>5}  view {len(read.directory.users)} users",
                  flush=True)

        print(f"{args.users} users, {args.groups} groups, {db.url.split(':')[0]}")
        step("initial (complete)", Snapshot(Directory(users, groups), "w1"), initial=True)
        changed = list(users.values())[:: 100]
        delta: dict[str, Any] = {u["objectId"]: {**u, "department": "Changed"} for u in changed}
        gone: frozenset[tuple[SourceKind, str]] = frozenset(
            ("user", uid) for uid in list(users)[1::1000])
        step("delta (1% changed, 0.1% gone)", Snapshot(Directory(delta, {}), "w2", complete=False,
                                                    removed=gone))
        step("unchanged", Snapshot(Directory(), "w3", complete=False, unchanged=True))
        users.update(delta)
        for _, uid in gone:
            users.pop(uid)
        step("complete re-read, same data", Snapshot(Directory(users, groups), "w4"))
        db.dispose()


if __name__ == "__main__":
    main()
