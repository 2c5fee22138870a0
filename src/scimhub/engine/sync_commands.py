"""``scimhub sync`` and ``scimhub logs``: running jobs and reading the provisioning log."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from scimhub.engine.config import ConfigError, JobConfig, load_jobs
from scimhub.engine.cycle.cycle import CycleSummary, DeletionThresholdExceeded
from scimhub.engine.errors import TargetError
from scimhub.engine.identity import JobTargetChanged
from scimhub.engine.log_export import write_csv
from scimhub.engine.on_demand import provision_user
from scimhub.engine.runner import (
    JobBusy,
    JobStopped,
    run_forever,
    run_once,
    terminal_progress,
)
from scimhub.engine.sources.directory import SourceError
from scimhub.store.database import Database, database_url
from scimhub.store.migrate import migrate
from scimhub.store.provisioning import EngineState, JobExists, JobRecord, JobState, NoSuchJob

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
            refused = asyncio.run(run_forever(jobs, db, lambda s: _print_summary(s, as_json)))
            sys.exit(1 if refused else 0)
        failed = False
        for job in jobs:
            try:
                with terminal_progress() as progress:
                    summary = asyncio.run(run_once(job, db, dry_run=dry_run, progress=progress))
            except SourceError as exc:
                raise click.ClickException(f"{job.name}: source: {exc}") from None
            except TargetError as exc:
                # Rejected credentials quarantine the job; a target that did not answer in
                # time does not: say which, from the job's state rather than the error.
                stored = EngineState(db).job(job.name)
                quarantined = (not dry_run and stored is not None
                               and stored.state.quarantine_reason is not None)
                raise click.ClickException(
                    f"{job.name}: {'quarantined, ' if quarantined else ''}target: "
                    f"{exc.code}: {exc.detail}") from None
            except (DeletionThresholdExceeded, JobStopped, JobBusy, JobTargetChanged) as exc:
                raise click.ClickException(f"{job.name}: {exc}") from None
            _print_summary(summary, as_json)
            failed |= summary.failures > 0
        sys.exit(1 if failed else 0)

    @main.command()
    @click.option("--config", "config", required=True, type=click.Path(path_type=Path))
    @click.option("--job", "job_name", required=True)
    @click.option("--user", "--group", "object_id", required=True,
                  help="The objectId of a user, or of a group of at most 5 members.")
    @click.option("--json", "as_json", is_flag=True)
    @database_option
    def provision(config: Path, job_name: str, object_id: str, as_json: bool,
                  database: str | None) -> None:
        """Provision one user (or a group of at most 5 members) now, printing each step."""
        [job] = _jobs(config, job_name)
        try:
            report = asyncio.run(provision_user(job, _database(database), object_id))
        except SourceError as exc:
            raise click.ClickException(f"{job.name}: source: {exc}") from None
        except JobTargetChanged as exc:
            raise click.ClickException(f"{job.name}: {exc}") from None
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
            job_name=job_name, status=status, action=action, text=text, cycle_id=cycle_id,
            limit=limit)
        if as_json or fmt == "json":
            click.echo(json.dumps(entries, indent=2))
        elif fmt == "csv":
            write_csv(sys.stdout, entries)
        else:
            for e in entries:
                error = f" {e['error_code']}: {e['detail']}" if e["status"] == "failure" else ""
                click.echo(f"{e['at']} {e['job']} {e['action']:<8} {e['status']:<8} "
                           f"{e['kind']:<5} {e['identity']}{error}")


def register_jobs(main: click.Group) -> None:
    @main.group()
    def job() -> None:
        """Start, stop, restart and inspect provisioning jobs."""

    @job.command("status")
    @click.option("--config", "config", default=None, type=click.Path(path_type=Path),
                  help="The job file, for each job's interval (next cycle).")
    @click.option("--json", "as_json", is_flag=True)
    @database_option
    def status(config: Path | None, as_json: bool, database: str | None) -> None:
        """State, last and next cycle, counts and quarantine of every known job."""
        state = EngineState(_database(database))
        intervals = {j.name: j.interval_seconds for j in _jobs(config, None)} if config else {}
        rows = [_status(state, name, intervals.get(name))
                for name in sorted(set(state.job_names()) | set(intervals))]
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        for row in rows:
            last = row["last_cycle"]
            click.echo(f"{row['job']}: {row['state']}"
                       + (f", QUARANTINED since {row['quarantined_since']}: "
                          f"{row['quarantine_reason']}" if row["quarantine_reason"] else ""))
            if last:
                click.echo(f"  last cycle {last['kind']} {last['started']} -> "
                           f"{last['finished'] or 'running'}: {last['counts']}, "
                           f"{last['failures']} failures")
            if row["next_cycle"]:
                click.echo(f"  next cycle {row['next_cycle']}")

    def _set(name: str, database: str | None, **values: object) -> EngineState:
        """Change a job's state; a name never run yet gets its job row (and id) now."""
        state = EngineState(_database(database))
        state.update_job(state.ensure_job(name).id, **values)
        return state

    @job.command("start")
    @click.argument("name")
    @database_option
    def start(name: str, database: str | None) -> None:
        """Let the scheduler run the job again."""
        _set(name, database, state="enabled")
        click.echo(f"{name}: enabled")

    @job.command("stop")
    @click.argument("name")
    @database_option
    def stop(name: str, database: str | None) -> None:
        """Stop running the job (a cycle in progress finishes)."""
        _set(name, database, state="stopped")
        click.echo(f"{name}: stopped")

    @job.command("restart")
    @click.argument("name")
    @database_option
    def restart(name: str, database: str | None) -> None:
        """Clear what the engine knows of the job: the next cycle is initial and re-matches
        every object; quarantine is lifted (Entra's Restart provisioning). The job keeps its
        id and its log; its recorded target is forgotten, so the next run may use another."""
        state = EngineState(_database(database))
        found = _known(state, name)
        state.update_job(found.id, state="enabled", quarantine_reason=None,
                         quarantined_since=None)
        state.forget(found.id)
        click.echo(f"{name}: restarted; the next cycle is an initial one")

    @job.command("rename")
    @click.argument("old")
    @click.argument("new")
    @database_option
    def rename(old: str, new: str, database: str | None) -> None:
        """Rename a job and keep its state (links, escrow, log); then change [job] name in the
        job file to NEW. A job file whose name changes without this starts a new, empty job."""
        try:
            EngineState(_database(database)).rename_job(old, new)
        except (NoSuchJob, JobExists) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{old}: renamed to {new}; set name = {new!r} in its job file")

    @job.command("allow-deletes")
    @click.argument("name")
    @database_option
    def allow_deletes(name: str, database: str | None) -> None:
        """Let the next cycle exceed the accidental-deletion threshold, once."""
        _set(name, database, allow_deletes=True, quarantine_reason=None,
             quarantined_since=None)
        click.echo(f"{name}: the next cycle may disable or delete past the threshold")


def _known(state: EngineState, name: str) -> JobRecord:
    found = state.job(name)
    if found is None:
        raise click.ClickException(f"no job named {name!r} in this database")
    return found


def _status(state: EngineState, name: str, interval: float | None) -> dict[str, Any]:
    found = state.job(name)
    job_state = found.state if found else JobState()
    cycles = state.cycles(found.id, 1) if found else []
    last = cycles[0] if cycles else None
    summary = (last.summary or {}) if last else {}
    next_cycle = None
    if last is not None and last.finished and interval is not None:
        from datetime import datetime, timedelta

        finished = datetime.strptime(last.finished, "%Y-%m-%dT%H:%M:%S.%fZ")
        wait = max(interval, 86400.0) if job_state.quarantine_reason else interval
        next_cycle = (finished + timedelta(seconds=wait)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "job": name, "state": job_state.state,
        "quarantine_reason": job_state.quarantine_reason,
        "quarantined_since": job_state.quarantined_since,
        "allow_deletes": job_state.allow_deletes,
        "last_cycle": None if last is None else {
            "id": last.id, "kind": last.kind, "started": last.started,
            "finished": last.finished, "counts": summary.get("counts", {}),
            "failures": summary.get("failures", 0)},
        "next_cycle": next_cycle,
    }
