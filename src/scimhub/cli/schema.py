"""``scimhub schema``: a tenant's own schema extensions (issue 11 §3, the service provider half).

``add`` registers an RFC 7643 §7 schema document as an extension of User or
Group, ``list`` shows what a tenant registered, ``remove`` unregisters one. The
server sees a change at the tenant's next request (``store/schemas.py``), so
these commands work while ``scimhub serve`` runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from scimhub.cli.options import database_option, open_database
from scimhub.scim.extensions import EXTENDED_TYPES, ExtendedType, ExtensionError
from scimhub.scim.types import TenantId
from scimhub.store.schemas import Registered, SchemaInUse, SchemaStore, UnknownTenant


@click.group()
def schema() -> None:
    """Register, list and remove a tenant's schema extensions."""


def _open(database: str | None, tenant: str) -> tuple[SchemaStore, TenantId]:
    store = SchemaStore(open_database(database))
    try:
        return store, store.tenant_id(tenant)
    except UnknownTenant as exc:
        raise click.ClickException(str(exc)) from None


def _read_document(file: str) -> Any:
    """The schema document from ``file`` ('-': standard input), or a one-line error."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file}: not JSON ({exc})") from None


def _resource_type(given: str | None, document: Any) -> ExtendedType:
    """``--resource-type``, or the URN's last segment when it is ``User`` or ``Group``
    (``urn:...:CustomExtensionName:2.0:User`` extends User)."""
    if given is not None:
        return "Group" if given.lower() == "group" else "User"
    urn = document.get("id") if isinstance(document, dict) else None
    last = urn.rsplit(":", 1)[-1] if isinstance(urn, str) else ""
    for name in EXTENDED_TYPES:
        if last.lower() == name.lower():
            return name
    raise click.ClickException(
        "Say which resource type the extension extends: --resource-type User or Group "
        "(it is taken from the URN only when the URN ends in ':User' or ':Group')")


def _describe(item: Registered) -> str:
    ext = item.extension
    names = ", ".join(a.name for a in ext.schema.attributes)
    required = " required" if ext.required else ""
    return f"{item.urn}\t{ext.resource_type}{required}\t{item.created}\t{names}"


@schema.command("add")
@click.argument("tenant")
@click.option("--file", "file", required=True,
              help="The RFC 7643 §7 schema document (JSON: id, name, description, attributes); "
                   "'-' reads standard input.")
@click.option("--resource-type", "resource_type", type=click.Choice(EXTENDED_TYPES,
              case_sensitive=False), default=None,
              help="The resource type it extends (default: the URN's last segment, "
                   "User or Group).")
@click.option("--required", is_flag=True,
              help="Every resource of that type must carry the extension (refused while the "
                   "tenant has any).")
@click.option("--json", "as_json", is_flag=True, help="Print the registered extension as JSON.")
@database_option
def schema_add(tenant: str, file: str, resource_type: str | None, required: bool,
               as_json: bool, database: str | None) -> None:
    """Register a schema extension for TENANT (its name or id)."""
    document = _read_document(file)
    kind = _resource_type(resource_type, document)
    store, tenant_id = _open(database, tenant)
    try:
        added = store.add(tenant_id, document, kind, required)
    except ExtensionError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if as_json:
        click.echo(json.dumps(added.to_json()))
    else:
        click.echo(f"Registered {added.urn} on {kind} for tenant {tenant} "
                   f"({len(added.extension.schema.attributes)} attributes).")


@schema.command("list")
@click.argument("tenant")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of schema documents.")
@database_option
def schema_list(tenant: str, as_json: bool, database: str | None) -> None:
    """List TENANT's schema extensions: URN, resource type, created, attributes."""
    store, tenant_id = _open(database, tenant)
    items = store.registered(tenant_id)
    if as_json:
        click.echo(json.dumps([item.to_json() for item in items]))
        return
    for item in items:
        click.echo(_describe(item))


@schema.command("remove")
@click.argument("tenant")
@click.argument("urn")
@click.option("--drop-values", is_flag=True,
              help="Also delete the extension's values from every resource that holds some "
                   "(without it, removal is refused while any does).")
@database_option
def schema_remove(tenant: str, urn: str, drop_values: bool, database: str | None) -> None:
    """Remove extension URN from TENANT."""
    store, tenant_id = _open(database, tenant)
    try:
        dropped = store.remove(tenant_id, urn, drop_values)
    except SchemaInUse as exc:
        raise click.ClickException(str(exc)) from None
    except LookupError as exc:
        raise click.ClickException(str(exc.args[0] if exc.args else exc)) from None
    suffix = f"; its values were deleted from {dropped} resource(s)" if dropped else ""
    click.echo(f"Removed {urn} from tenant {tenant}{suffix}.")
