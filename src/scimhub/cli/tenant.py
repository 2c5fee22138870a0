"""``scimhub tenant``: create and list the service provider's tenants."""

from __future__ import annotations

import json

import click

from scimhub.cli.options import database_option, open_tenants
from scimhub.store.tenants import TenantExists


@click.group()
def tenant() -> None:
    """Create and list tenants."""


@tenant.command("create")
@click.argument("name")
@click.option("--admin-email", required=True)
@click.option("--admin-password", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@database_option
def tenant_create(
    name: str, admin_email: str, admin_password: str, as_json: bool, database: str | None
) -> None:
    """Create a tenant and its first admin; print its API token once."""
    store = open_tenants(database)
    try:
        created, token = store.create(name, admin_email, admin_password)
    except TenantExists as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"tenant_id": created.id, "name": created.name, "token": token,
                               "admin_email": admin_email}))
    else:
        click.echo(f"Tenant {created.name} ({created.id}) created.")
        click.echo(f"API token (shown once; the console can reveal it again): {token}")


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True)
@database_option
def tenant_list(as_json: bool, database: str | None) -> None:
    """List tenants."""
    rows = open_tenants(database).list()
    if as_json:
        click.echo(json.dumps([{"tenant_id": t.id, "name": t.name, "created": t.created}
                               for t in rows]))
        return
    for t in rows:
        click.echo(f"{t.name}\t{t.id}\t{t.created}")
