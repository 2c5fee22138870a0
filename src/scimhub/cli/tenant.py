"""``scimhub tenant``: create and list the service provider's tenants, and set their limits."""

from __future__ import annotations

import json

import click

from scimhub.cli.options import database_option, open_tenants
from scimhub.rates import OFF, BadRate, parse_setting
from scimhub.store.tenants import NoSuchTenant, TenantExists

#: ``tenant limit NAME default``: back to the server's ``--tenant-rate-limit``.
DEFAULT = "default"


@click.group()
def tenant() -> None:
    """Create and list tenants; set their request limits."""


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
        click.echo(json.dumps([{"tenant_id": t.id, "name": t.name, "created": t.created,
                                "rate_limit": t.rate_limit} for t in rows]))
        return
    for t in rows:
        click.echo(f"{t.name}\t{t.id}\t{t.created}\t{t.rate_limit or DEFAULT}")


@tenant.command("limit")
@click.argument("name")
@click.argument("rate", metavar="RATE|off|default")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@database_option
def tenant_limit(name: str, rate: str, as_json: bool, database: str | None) -> None:
    """Set tenant NAME's SCIM request limit: a RATE (200/s, 200/second, 12000/minute,
    1000/10s: that many requests per window, and at most that many at once), off (no limit),
    or default (the server's --tenant-rate-limit). Every server process applies it from the
    tenant's next request."""
    if rate.strip().lower() == DEFAULT:
        stored: str | None = None
    else:
        try:
            parsed = parse_setting(rate)
        except BadRate as exc:
            raise click.BadParameter(str(exc), param_hint="RATE") from None
        stored = OFF if parsed is None else parsed.text
    store = open_tenants(database)
    try:
        found = store.by_name(name)
        store.set_rate_limit(found.id, stored)
    except NoSuchTenant:
        raise click.ClickException(f"No tenant named {name!r}") from None
    if as_json:
        click.echo(json.dumps({"tenant_id": found.id, "name": found.name,
                               "rate_limit": stored}))
    elif stored is None:
        click.echo(f"Tenant {found.name} follows the server's --tenant-rate-limit.")
    elif stored == OFF:
        click.echo(f"Tenant {found.name} has no request limit.")
    else:
        click.echo(f"Tenant {found.name} is limited to {stored}.")
