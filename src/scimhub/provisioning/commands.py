"""``scimhub test-connection``."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from scimhub.provisioning.connection import check_connection


def register(main: click.Group) -> None:
    @main.command("test-connection")
    @click.option("--tenant-url", required=True, help="The SCIM base URL, e.g. https://app/scim/v2")
    @click.option("--token", required=True, help="The Secret Token (bearer token).")
    @click.option("--timeout", default=10.0, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    def test_connection_command(tenant_url: str, token: str, timeout: float,
                                as_json: bool) -> None:
        """What Entra's Test Connection does: exit 0 if provisioning can start, else 1."""
        report = asyncio.run(check_connection(tenant_url, token, timeout=timeout))
        if as_json:
            click.echo(json.dumps(report.to_dict()))
        else:
            for step in report.steps:
                click.echo(f"{'✓' if step.ok else '✗'} {step.name}: {step.detail}")
            click.echo("Connection OK." if report.ok else f"Connection failed: {report.reason}")
        sys.exit(0 if report.ok else 1)
