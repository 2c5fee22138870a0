"""Running jobs: one cycle now, or every job on its interval until stopped."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from scimhub.provisioning.config import JobConfig
from scimhub.provisioning.cycle import Cycle, CycleSummary
from scimhub.provisioning.sources.file import load_file
from scimhub.provisioning.target import ScimTarget
from scimhub.store.database import Database
from scimhub.store.provisioning import EngineState

Progress = Callable[[str, int, int], None]


async def run_once(job: JobConfig, db: Database, *, dry_run: bool = False,
                   progress: Progress | None = None) -> CycleSummary:
    directory = load_file(job.source.path)
    async with ScimTarget(job.target.url, job.target.token,
                          concurrency=job.target.concurrency,
                          timeout=job.target.timeout) as target:
        cycle = Cycle(job, EngineState(db), target, directory, dry_run=dry_run,
                      progress=progress)
        return await cycle.run()


def terminal_progress() -> AbstractContextManager[Progress | None]:
    """A rich progress bar on an interactive terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeRemainingColumn

    bar = Progress("[bold]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), transient=True)
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    class _Bar:
        def __enter__(self) -> Progress | None:
            bar.start()
            return update  # type: ignore[return-value]

        def __exit__(self, *_exc: object) -> None:
            bar.stop()

    return _Bar()  # type: ignore[return-value]


async def run_forever(jobs: list[JobConfig], db: Database,
                      on_cycle: Callable[[CycleSummary], None]) -> None:
    """Each job on its own interval (default 40 minutes), until cancelled."""

    async def loop(job: JobConfig) -> None:
        while True:
            try:
                on_cycle(await run_once(job, db))
            except Exception as exc:
                print(f"{job.name}: cycle failed: {exc}", file=sys.stderr)
            await asyncio.sleep(job.interval_seconds)

    await asyncio.gather(*(loop(job) for job in jobs))
