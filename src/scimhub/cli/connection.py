"""``scimhub test-connection``: exit 0 when provisioning can start, 1 when a check failed,
2 for bad arguments (click's usage errors, or a Tenant URL that is not an http(s) URL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from click.core import ParameterSource

from scimhub.cli.options import load_job_file
from scimhub.engine import ConnectionReport, Step, test_connection

OK, FAILED, BAD_ARGUMENTS = 0, 1, 2


@click.command("test-connection")
@click.option("--tenant-url", default=None,
              help="The SCIM base URL, e.g. https://app/scim/v2 (default: the job's [target]).")
@click.option("--token", default=None, envvar="SCIMHUB_TARGET_TOKEN", show_envvar=True,
              help="The Secret Token (sent as a bearer token).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds to wait for each answer.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as a JSON object.")
@click.option("--config", "config", default=None, type=click.Path(path_type=Path),
              help="A job file: its mappings are checked against the target's schema and "
              "its source is proved (bind, base DN, users and groups selected).")
@click.option("--job", "job_name", default=None, help="The job of --config (default: its only "
              "job).")
@click.pass_context
def test_connection_command(ctx: click.Context, tenant_url: str | None, token: str | None,
                            timeout: float, as_json: bool, config: Path | None,
                            job_name: str | None) -> None:
    """What Entra's Test Connection does: probe the target for a user and a group that do
    not exist, and check its discovery endpoints; with --config, also bind the job's
    mappings to the attributes the target advertises and prove the job's source (its
    check steps, e.g. an LDAP bind, the base DN, how many users and groups the filters
    select). Exits 1 when any step failed, the source's included."""
    job = None
    if config is not None:
        jobs = load_job_file(config, job_name)
        if len(jobs) > 1:
            raise click.UsageError(f"{config} has {len(jobs)} jobs: name one with --job")
        job = jobs[0]
        tenant_url = tenant_url or job.target.url
        from_env = ctx.get_parameter_source("token") is ParameterSource.ENVIRONMENT
        token = job.target.token if token is None or from_env else token
    if tenant_url is None:
        raise click.UsageError("Missing option '--tenant-url' (or --config with a job file).")
    if token is None:
        raise click.UsageError("Missing option '--token' (or --config with a job file).")
    report = asyncio.run(test_connection(tenant_url, token, timeout=timeout, job=job))
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for step in report.steps:
            click.echo(f"{_mark(step)} {step.name}: {step.detail}")
        click.echo("Connection OK." if report.ok else f"Connection failed: {report.reason}")
    ctx.exit(_exit_code(report))


def _mark(step: Step) -> str:
    if not step.ok:
        return "✗"
    return "⚠" if step.warning else "✓"


def _exit_code(report: ConnectionReport) -> int:
    if report.ok:
        return OK
    url_step = report.steps[0]  # always the Tenant URL
    return FAILED if url_step.ok else BAD_ARGUMENTS
