"""The ``scimhub`` command: the command names, flags and exit codes the README documents.

One module per command group; this module only assembles them.
"""

from __future__ import annotations

from typing import Any

import click

from scimhub.cli.connection import test_connection_command
from scimhub.cli.demo import demo
from scimhub.cli.job import job
from scimhub.cli.logs import logs
from scimhub.cli.options import log_format_option
from scimhub.cli.provision import provision
from scimhub.cli.schema import schema
from scimhub.cli.serve import serve
from scimhub.cli.sync import sync
from scimhub.cli.tenant import tenant
from scimhub.cli.token import token
from scimhub.store.database import MissingDriver


class _Main(click.Group):
    """Turns a missing database driver into a one-line error that says what to install,
    whichever command opened the database."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MissingDriver as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Main)
@click.version_option(package_name="scimhub")
def main() -> None:
    """scimhub: SCIM 2.0 provisioning, both halves."""


for command in (serve, tenant, token, demo, sync, provision, logs, job,
                test_connection_command, schema):
    main.add_command(command)


def _every_command(command: click.Command) -> None:
    command.params.append(log_format_option())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _every_command(sub)


_every_command(main)

__all__ = ["main"]
