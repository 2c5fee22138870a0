"""``scimhub sync`` and ``scimhub logs``: running jobs and reading the provisioning log."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import sys
from pathlib import Path

import click

from scimhub.provisioning.config import ConfigError, JobConfig, load_jobs
from scimhub.provisioning.cycle import CycleSummary
from scimhub.provisioning.errors import TargetError
from scimhub.provisioning.on_demand import provision_user
from scimhub.provisioning.runner import run_forever, run_once, terminal_progress
from scimhub.provisioning.sources.directory import SourceError
from scimhub.store.database import Database, database_url
from scimhub.store.migrate import migrate
from scimhub.store.provisioning import EngineState

database_option = click.option("--database", default=None,
                               help="Where the engine keeps its state and log.")


def _jobs(config: Path, name: str | None) -> list[JobConfig]:
    try:
        jobs = load_jobs(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if name:
        jobs = [j for j in jobs if j.name == name]
        if not jobs:
            raise click.ClickException(f"{config}: no job named {name!r}")
    return jobs


def _database(database: str | None) -> Database:
    db = Database(database_url(database))
    migrate(db)
    return db


def _print_summary(summary: CycleSummary, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items())) or "no changes"
    click.echo(f"{summary.job}: {summary.kind} cycle {summary.cycle_id}: {counts}; "
               f"{summary.failures} failures, {summary.requests} requests, "
               f"{summary.duration_s:.1f} s")
    for item in summary.planned:
        changes = "; ".join(f"{m['attribute']}: {m['old']!r} -> {m['new']!r}"
                            for m in item["modified"])
        click.echo(f"  would {item['action']} {item['kind']} {item['identity']}"
                   f"{': ' + changes if changes else ''}")


def register_sync(main: click.Group) -> None:
    @main.command()
    @click.option("--config", "config", required=True, type=click.Path(path_type=Path))
    @click.option("--job", "job_name", default=None, help="Only this job of the file.")
    @click.option("--once", is_flag=True, help="Run one cycle of each job and exit.")
    @click.option("--dry-run", is_flag=True, help="Read the target, write nothing, print plans.")
    @click.option("--json", "as_json", is_flag=True, help="Print each cycle's summary as JSON.")
    @database_option
    def sync(config: Path, job_name: str | None, once: bool, dry_run: bool, as_json: bool,
             database: str | None) -> None:
        """Run provisioning jobs: one cycle with --once, else on their interval until stopped."""
        jobs = _jobs(config, job_name)
        db = _database(database)
        if not once and not dry_run:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(run_forever(jobs, db, lambda s: _print_summary(s, as_json)))
            return
        failed = False
        for job in jobs:
            try:
                with terminal_progress() as progress:
                    summary = asyncio.run(run_once(job, db, dry_run=dry_run, progress=progress))
            except SourceError as exc:
                raise click.ClickException(f"{job.name}: source: {exc}") from None
            except TargetError as exc:
                raise click.ClickException(f"{job.name}: target: {exc.code}: {exc.detail}"
                                           ) from None
            _print_summary(summary, as_json)
            failed |= summary.failures > 0
        sys.exit(1 if failed else 0)

    @main.command()
    @click.option("--config", "config", required=True, type=click.Path(path_type=Path))
    @click.option("--job", "job_name", required=True)
    @click.option("--user", "object_id", required=True, help="The user's objectId.")
    @click.option("--json", "as_json", is_flag=True)
    @database_option
    def provision(config: Path, job_name: str, object_id: str, as_json: bool,
                  database: str | None) -> None:
        """Provision one user now, printing each step and what it decided (on demand)."""
        [job] = _jobs(config, job_name)
        try:
            report = asyncio.run(provision_user(job, _database(database), object_id))
        except SourceError as exc:
            raise click.ClickException(f"{job.name}: source: {exc}") from None
        if as_json:
            click.echo(json.dumps(report.to_dict()))
        else:
            for step in report.steps:
                click.echo(f"{'✓' if step['ok'] else '✗'} {step['step']}: {step['detail']}")
                for line in step.get("details", []):
                    click.echo(f"    {line}")
                for change in step.get("modified", []):
                    click.echo(f"    {change['attribute']}: {change['old']!r} -> {change['new']!r}")
        sys.exit(0 if report.ok else 1)

    @main.command()
    @click.option("--job", "job_name", default=None)
    @click.option("--status", type=click.Choice(["success", "failure", "skipped"]), default=None)
    @click.option("--action", default=None, help="create, update, disable, delete, skip...")
    @click.option("--search", "text", default=None, help="Identity, source id or target id.")
    @click.option("--cycle", "cycle_id", default=None)
    @click.option("--limit", default=100, show_default=True)
    @click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text")
    @click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
    @database_option
    def logs(job_name: str | None, status: str | None, action: str | None, text: str | None,
             cycle_id: str | None, limit: int, fmt: str, as_json: bool,
             database: str | None) -> None:
        """Search the provisioning log, newest first."""
        entries = EngineState(_database(database)).search_log(
            job_name, status=status, action=action, text=text, cycle_id=cycle_id, limit=limit)
        if as_json or fmt == "json":
            click.echo(json.dumps(entries, indent=2))
        elif fmt == "csv":
            writer = csv.writer(sys.stdout)
            columns = ["at", "job", "cycle_id", "kind", "identity", "source_id", "target_id",
                       "action", "status", "error_code", "detail", "duration_ms"]
            writer.writerow(columns)
            for e in entries:
                writer.writerow([e[c] for c in columns])
        else:
            for e in entries:
                error = f" {e['error_code']}: {e['detail']}" if e["status"] == "failure" else ""
                click.echo(f"{e['at']} {e['job']} {e['action']:<8} {e['status']:<8} "
                           f"{e['kind']:<5} {e['identity']}{error}")
