"""``scimhub provision``: provision one user (or a small group) on demand."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from scimhub.cli.options import database_option, load_job_file, open_database
from scimhub.engine import JobTargetChanged, SourceError, provision_user


@click.command()
@click.option("--config", "config", required=True, type=click.Path(path_type=Path))
@click.option("--job", "job_name", required=True)
@click.option("--user", "--group", "object_id", required=True,
              help="The objectId of a user, or of a group of at most 5 members.")
@click.option("--json", "as_json", is_flag=True)
@database_option
def provision(config: Path, job_name: str, object_id: str, as_json: bool,
              database: str | None) -> None:
    """Provision one user (or a group of at most 5 members) now, printing each step."""
    [job] = load_job_file(config, job_name)
    try:
        report = asyncio.run(provision_user(job, open_database(database), object_id))
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
