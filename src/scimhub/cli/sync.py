"""``scimhub sync``: run provisioning jobs, one cycle now or every job on its interval."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from scimhub.cli.options import database_option, load_job_file, open_database
from scimhub.engine import (
    CycleSummary,
    EngineError,
    SourceCredentialsRejected,
    SourceError,
    TargetError,
    run_forever,
    run_once,
    terminal_progress,
)
from scimhub.store.provisioning import EngineState


def print_summary(summary: CycleSummary, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items())) or "no changes"
    click.echo(f"{summary.job}: {summary.kind} cycle {summary.cycle_id}: {counts}; "
               f"{summary.failures} failures, {summary.requests} requests, "
               f"{summary.duration_s:.1f} s{_source(summary)}")
    for item in summary.planned:
        changes = "; ".join(f"{m['attribute']}: {m['old']!r} -> {m['new']!r}"
                            for m in item["modified"])
        click.echo(f"  would {item['action']} {item['kind']} {item['identity']}"
                   f"{': ' + changes if changes else ''}")


def _source(summary: CycleSummary) -> str:
    """What the import read: a delta source's cost is what incremental cycles are about."""
    read = summary.source
    if not read:
        return ""
    listed = f", {read['listed']} listed" if read.get("listed") else ""
    return f"; source: {read['kind']} read, {read.get('fetched', 0)} fetched{listed}"


@click.command()
@click.option("--config", "config", required=True, type=click.Path(path_type=Path))
@click.option("--job", "job_name", default=None, help="Only this job of the file.")
@click.option("--once", is_flag=True, help="Run one cycle of each job and exit.")
@click.option("--dry-run", is_flag=True, help="Read the target, write nothing, print plans.")
@click.option("--json", "as_json", is_flag=True, help="Print each cycle's summary as JSON.")
@database_option
def sync(config: Path, job_name: str | None, once: bool, dry_run: bool, as_json: bool,
         database: str | None) -> None:
    """Run provisioning jobs: one cycle with --once, else on their interval until stopped."""
    jobs = load_job_file(config, job_name)
    db = open_database(database)
    if not once and not dry_run:
        refused = asyncio.run(run_forever(jobs, db, lambda s: print_summary(s, as_json)))
        sys.exit(1 if refused else 0)
    failed = False
    for job in jobs:
        try:
            with terminal_progress() as progress:
                summary = asyncio.run(run_once(job, db, dry_run=dry_run, progress=progress))
        except SourceError as exc:
            # A refused bind (or source token) quarantines the job, as a refused target
            # token does; nothing else a source raises does.
            quarantined = isinstance(exc, SourceCredentialsRejected) and not dry_run
            raise click.ClickException(
                f"{job.name}: {'quarantined, ' if quarantined else ''}source: {exc}") from None
        except TargetError as exc:
            # Rejected credentials quarantine the job; a target that did not answer in
            # time does not: say which, from the job's state rather than the error.
            stored = EngineState(db).job(job.name)
            quarantined = (not dry_run and stored is not None
                           and stored.state.quarantine_reason is not None)
            raise click.ClickException(
                f"{job.name}: {'quarantined, ' if quarantined else ''}target: "
                f"{exc.code}: {exc.detail}") from None
        except EngineError as exc:
            # The deletion guard, a stopped or busy job, a job file pointing at another
            # target, an expression failing on a value...: any engine failure, one line.
            raise click.ClickException(f"{job.name}: {exc}") from None
        print_summary(summary, as_json)
        failed |= summary.failures > 0
    sys.exit(1 if failed else 0)
