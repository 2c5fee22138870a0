"""``scimhub test-connection``: exit 0 when provisioning can start, 1 when a check failed,
2 for bad arguments (click's usage errors, or a Tenant URL that is not an http(s) URL)."""

from __future__ import annotations

import asyncio
import json

import click

from scimhub.engine.target.connection import ConnectionReport, Step, test_connection

OK, FAILED, BAD_ARGUMENTS = 0, 1, 2


@click.command("test-connection")
@click.option("--tenant-url", required=True, help="The SCIM base URL, e.g. https://app/scim/v2")
@click.option("--token", required=True, envvar="SCIMHUB_TARGET_TOKEN", show_envvar=True,
              help="The Secret Token (sent as a bearer token).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds to wait for each answer.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as a JSON object.")
@click.pass_context
def test_connection_command(ctx: click.Context, tenant_url: str, token: str, timeout: float,
                            as_json: bool) -> None:
    """What Entra's Test Connection does: probe the target for a user and a group that do
    not exist, and check its discovery endpoints."""
    report = asyncio.run(test_connection(tenant_url, token, timeout=timeout))
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
