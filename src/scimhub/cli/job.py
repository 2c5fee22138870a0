"""``scimhub job``: a job's state, and starting, stopping, restarting, resetting and renaming
it."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from scimhub.cli.options import database_option, load_job_file, open_database
from scimhub.engine import TargetError, listing, listing_lines, read_schema
from scimhub.store.provisioning import EngineState, JobExists, JobRecord, JobState, NoSuchJob


@click.group()
def job() -> None:
    """Start, stop, restart, reset and inspect provisioning jobs."""


@job.command("schema")
@click.argument("name")
@click.option("--config", "config", default=None, type=click.Path(path_type=Path),
              help="The job file: its target is read now and its mappings checked. Without "
                   "it, what the job's last cycle discovered is shown.")
@click.option("--json", "as_json", is_flag=True)
@database_option
def schema(name: str, config: Path | None, as_json: bool, database: str | None) -> None:
    """The target's attribute list as the engine sees it (its /Schemas and /ResourceTypes),
    and whether the job's mappings bind to it; exit 1 when one does not."""
    if config is not None:
        (job_config,) = load_job_file(config, name)
        try:
            found = asyncio.run(read_schema(job_config))
        except TargetError as exc:
            raise click.ClickException(f"{name}: target: {exc.code}: {exc.detail}") from None
        doc = listing(job_config, found)
    else:
        state = EngineState(open_database(database))
        recorded = state.target_schema(_known(state, name).id)
        if recorded is None:
            raise click.ClickException(f"{name}: no cycle has discovered its target yet; run "
                                       "one, or give --config FILE to read the target now")
        discovered, doc = recorded
        doc = {**doc, "discovered": discovered}
    click.echo(json.dumps(doc, indent=2) if as_json else "\n".join(listing_lines(doc)))
    if not doc["mappings"]["ok"]:
        raise SystemExit(1)


@job.command("status")
@click.option("--config", "config", default=None, type=click.Path(path_type=Path),
              help="The job file, for each job's interval (next cycle).")
@click.option("--json", "as_json", is_flag=True)
@database_option
def status(config: Path | None, as_json: bool, database: str | None) -> None:
    """State, last and next cycle, counts and quarantine of every known job."""
    state = EngineState(open_database(database))
    intervals = ({j.name: j.interval_seconds for j in load_job_file(config, None)}
                 if config else {})
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
    state = EngineState(open_database(database))
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
    """Entra's Restart provisioning: the next cycle is initial (every object re-evaluated,
    the whole source read again: its watermark is cleared), failed objects leave escrow and
    are retried by it, quarantine is lifted. The links between source and target objects
    stay (nothing is matched or created again); to forget them too, 'scimhub job reset'."""
    state = EngineState(open_database(database))
    state.restart(_known(state, name).id)
    click.echo(f"{name}: restarted; the next cycle is an initial one and reads the whole "
               "source (links kept)")


@job.command("reset")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Confirm: forget the job's links and target.")
@database_option
def reset(name: str, yes: bool, database: str | None) -> None:
    """Forget what the job knows of its target (destructive): links, escrow, memberships
    sent, the recorded target, and the source's watermark; the next cycle is initial,
    reads the whole source and matches every object by its matching attributes again, and
    may run against another target. Quarantine is lifted; the job keeps its id and its
    log. Refused without --yes."""
    if not yes:
        raise click.ClickException(
            f"'job reset' forgets every link of {name} to its target objects, so the next "
            "cycle matches each object again (and creates those it cannot find); "
            "'job restart' keeps them. Add --yes to reset")
    state = EngineState(open_database(database))
    state.reset(_known(state, name).id)
    click.echo(f"{name}: reset; links, escrow and the recorded target forgotten; "
               "the next cycle is an initial one")


@job.command("rename")
@click.argument("old")
@click.argument("new")
@database_option
def rename(old: str, new: str, database: str | None) -> None:
    """Rename a job and keep its state (links, escrow, log); then change [job] name in the
    job file to NEW. A job file whose name changes without this starts a new, empty job."""
    try:
        EngineState(open_database(database)).rename_job(old, new)
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
