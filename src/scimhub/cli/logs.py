"""``scimhub logs``: search the provisioning log."""

from __future__ import annotations

import json
import sys

import click

from scimhub.cli.options import database_option, open_database
from scimhub.engine import write_csv
from scimhub.store.provisioning import EngineState


@click.command()
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
    entries = EngineState(open_database(database)).search_log(
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
