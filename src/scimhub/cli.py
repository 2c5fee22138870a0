"""The ``scimhub`` command: the command names, flags and exit codes the README documents."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from scimhub.engine.commands import register
from scimhub.engine.sync_commands import register_jobs, register_sync
from scimhub.security import TokenVault
from scimhub.server.hosts import PUBLIC_URL_ENV, TRUSTED_HOSTS_ENV, BadPublicUrl, HostPolicy
from scimhub.store.database import Database, MissingDriver, database_url
from scimhub.store.migrate import migrate
from scimhub.store.tenants import NoSuchTenant, TenantExists, TenantStore

database_option = click.option(
    "--database", "database", default=None,
    help="Database URL (default: $SCIMHUB_DATABASE_URL, else sqlite:///./scimhub.db).",
)


def _open(database: str | None) -> tuple[Database, TenantStore]:
    db = Database(database_url(database))
    migrate(db)
    return db, TenantStore(db, TokenVault.from_environment())


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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
@click.option("--public-url", envvar=PUBLIC_URL_ENV, default=None, metavar="URL",
              help="The base URL clients reach this server at (e.g. https://scim.example.com): "
                   "used in Location, meta.location and the console's Tenant URL "
                   f"(default: ${PUBLIC_URL_ENV}).")
@click.option("--trusted-hosts", envvar=TRUSTED_HOSTS_ENV, default="", metavar="NAMES",
              help="More Host names to answer, comma-separated (localhost, 127.0.0.1, ::1, "
                   "--host and the --public-url host always are); other Hosts get 400.")
@click.option("--forwarded-allow-ips", envvar="FORWARDED_ALLOW_IPS", default="",
              metavar="IPS",
              help="Addresses of proxies whose X-Forwarded-For and X-Forwarded-Proto are "
                   "believed, comma-separated (default: $FORWARDED_ALLOW_IPS, else none).")
@database_option
def serve(host: str, port: int, workers: int, access_log: bool, public_url: str | None,
          trusted_hosts: str, forwarded_allow_ips: str, database: str | None) -> None:
    """Run the SCIM endpoint at /scim/v2 and the console at /."""
    try:
        hosts = HostPolicy.build(public_url=public_url, bind_host=host,
                                 trusted=trusted_hosts.split(","))
    except BadPublicUrl as exc:
        raise click.BadParameter(str(exc), param_hint="--public-url") from None
    if host in ("0.0.0.0", "::") and not public_url and not trusted_hosts.strip():  # noqa: S104
        click.echo("scimhub: listening on every address, but only Host headers naming this "
                   "machine locally are answered: give --public-url (or --trusted-hosts) with "
                   "the name clients use.", err=True)
    url = database_url(database)
    db = Database(url)
    migrate(db)  # once, before any worker starts
    db.dispose()
    os.environ["SCIMHUB_DATABASE_URL"] = url
    os.environ.update(hosts.to_environment())  # what the workers' app reads
    _run_server(host, port, workers, access_log, forwarded_allow_ips)


def _run_server(host: str, port: int, workers: int, access_log: bool,
                forwarded_allow_ips: str = "") -> None:
    """``forwarded_allow_ips`` empty: the client address and scheme are the connection's own,
    whatever X-Forwarded-* headers say."""
    import uvicorn

    uvicorn.run(
        "scimhub.server.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        access_log=access_log,
        log_level="info",
        loop="uvloop",
        http="httptools",
        proxy_headers=bool(forwarded_allow_ips.strip()),
        forwarded_allow_ips=forwarded_allow_ips,
        lifespan="on",
    )


@main.group()
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
    _, store = _open(database)
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
    _, store = _open(database)
    rows = store.list()
    if as_json:
        click.echo(json.dumps([{"tenant_id": t.id, "name": t.name, "created": t.created}
                               for t in rows]))
        return
    for t in rows:
        click.echo(f"{t.name}\t{t.id}\t{t.created}")


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("reset")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@database_option
def token_reset(name: str, as_json: bool, database: str | None) -> None:
    """Issue a new token for tenant NAME and revoke the old one at once."""
    _, store = _open(database)
    try:
        found = store.by_name(name)
    except NoSuchTenant:
        raise click.ClickException(f"No tenant named {name!r}") from None
    new_token = store.reset_token(found.id)
    if as_json:
        click.echo(json.dumps({"tenant_id": found.id, "name": found.name, "token": new_token}))
    else:
        click.echo(f"New API token for {found.name} (the old one no longer works): {new_token}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--dir", "workdir", default="scimhub-demo", show_default=True,
              type=click.Path(path_type=Path), help="Where the demo keeps its files.")
@click.option("--users", default=300, show_default=True)
@click.option("--serve/--no-serve", default=True, help="Keep serving after the cycles.")
def demo(host: str, port: int, workdir: Path, users: int, serve: bool) -> None:
    """The whole loop on SQLite: a service provider, a tenant, and the engine provisioning
    a sample directory into it (initial cycle, then changes and an incremental cycle)."""
    from scimhub.demo import run_demo

    run_demo(host, port, workdir, users, serve)


register_sync(main)
register(main)
register_jobs(main)
