"""``scimhub token``: a tenant's API token."""

from __future__ import annotations

import json

import click

from scimhub.cli.options import database_option, open_tenants
from scimhub.store.tenants import NoSuchTenant


@click.group()
def token() -> None:
    """Manage API tokens."""


@token.command("reset")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@database_option
def token_reset(name: str, as_json: bool, database: str | None) -> None:
    """Issue a new token for tenant NAME and revoke the old one at once."""
    store = open_tenants(database)
    try:
        found = store.by_name(name)
    except NoSuchTenant:
        raise click.ClickException(f"No tenant named {name!r}") from None
    new_token = store.reset_token(found.id)
    if as_json:
        click.echo(json.dumps({"tenant_id": found.id, "name": found.name, "token": new_token}))
    else:
        click.echo(f"New API token for {found.name} (the old one no longer works): {new_token}")
