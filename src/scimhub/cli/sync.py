"""``scimhub sync``: run provisioning jobs, one cycle now or every job on its interval."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import NoReturn

import click

from scimhub.cli.options import database_option, load_job_file, open_database
from scimhub.engine import (
    CycleSummary,
    EngineError,
    EngineMetrics,
    JobConfig,
    MetricsServer,
    Observer,
    SourceCredentialsRejected,
    SourceError,
    TargetError,
    report_stored_state,
    run_forever,
    run_once,
    serve_metrics,
    terminal_progress,
    without_queries,
)
from scimhub.logs import FIELDS_KEY, current_format
from scimhub.store.database import Database
from scimhub.store.provisioning import EngineState

log = logging.getLogger("scimhub.cli.sync")


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


def _fail(job: str, message: str) -> NoReturn:
    """Exit 1 with the error: Click's ``Error:`` line, or with ``--log-format json`` a JSON
    line like every other line the process writes to stderr, without the queries of the
    requests it quotes (a match filter holds a source value; logs are shipped elsewhere)."""
    if current_format() == "json":
        log.error("%s", without_queries(message), extra={FIELDS_KEY: {"job": job}})
        sys.exit(1)
    raise click.ClickException(message)


def _start_metrics(jobs: list[JobConfig], db: Database, host: str,
                   port: int) -> tuple[EngineMetrics, MetricsServer]:
    """The engine's metrics, primed from the database (a job quarantined before this process
    started is reported quarantined at once), served on ``host:port``."""
    metrics = EngineMetrics()
    report_stored_state(jobs, db, metrics)
    try:
        server = serve_metrics(metrics, host, port)
    except OSError as exc:
        raise click.ClickException(
            f"--metrics-port {port}: cannot listen on {host}:{port}: "
            f"{exc.strerror or exc}") from None
    log.info("metrics on http://%s:%d/metrics", host, server.port,
             extra={FIELDS_KEY: {"metrics_host": host, "metrics_port": server.port}})
    return metrics, server


@click.command()
@click.option("--config", "config", required=True, type=click.Path(path_type=Path))
@click.option("--job", "job_name", default=None, help="Only this job of the file.")
@click.option("--once", is_flag=True, help="Run one cycle of each job and exit.")
@click.option("--dry-run", is_flag=True, help="Read the target, write nothing, print plans.")
@click.option("--json", "as_json", is_flag=True, help="Print each cycle's summary as JSON.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve the engine's Prometheus metrics on this port (/metrics) while it "
                   "runs; with --once, only until the cycles end.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="The address the metrics are served on.")
@database_option
def sync(config: Path, job_name: str | None, once: bool, dry_run: bool, as_json: bool,
         metrics_port: int | None, metrics_host: str, database: str | None) -> None:
    """Run provisioning jobs: one cycle with --once, else on their interval until stopped."""
    # One INFO line per request, with its query (a match filter holds a source value):
    # neither wanted in the engine's log nor affordable at 100,000 requests a cycle.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    jobs = load_job_file(config, job_name)
    db = open_database(database)
    observer, server = Observer(), None
    if metrics_port is not None:
        observer, server = _start_metrics(jobs, db, metrics_host, metrics_port)
    try:
        _sync(jobs, db, once=once, dry_run=dry_run, as_json=as_json, observer=observer)
    finally:
        if server is not None:
            server.close()


def _sync(jobs: list[JobConfig], db: Database, *, once: bool, dry_run: bool, as_json: bool,
          observer: Observer) -> NoReturn:
    if not once and not dry_run:
        refused = asyncio.run(run_forever(jobs, db, lambda s: print_summary(s, as_json),
                                          observer))
        sys.exit(1 if refused else 0)
    failed = False
    for job in jobs:
        try:
            with terminal_progress() as progress:
                summary = asyncio.run(run_once(job, db, dry_run=dry_run, progress=progress,
                                               observer=observer,
                                               # A terminal gets the failure once, as the
                                               # Error line below; a JSON log keeps the
                                               # cycle's own line at its level.
                                               caller_reports=current_format() == "text"))
        except SourceError as exc:
            # A refused bind (or source token) quarantines the job, as a refused target
            # token does; nothing else a source raises does.
            quarantined = isinstance(exc, SourceCredentialsRejected) and not dry_run
            _fail(job.name, f"{job.name}: {'quarantined, ' if quarantined else ''}"
                            f"source: {exc}")
        except TargetError as exc:
            # Rejected credentials quarantine the job; a target that did not answer in
            # time does not: say which, from the job's state rather than the error.
            stored = EngineState(db).job(job.name)
            quarantined = (not dry_run and stored is not None
                           and stored.state.quarantine_reason is not None)
            _fail(job.name, f"{job.name}: {'quarantined, ' if quarantined else ''}target: "
                            f"{exc.code}: {exc.detail}")
        except EngineError as exc:
            # The deletion guard, a stopped or busy job, a job file pointing at another
            # target, an expression failing on a value...: any engine failure, one line.
            _fail(job.name, f"{job.name}: {exc}")
        print_summary(summary, as_json)
        failed |= summary.failures > 0
    sys.exit(1 if failed else 0)
