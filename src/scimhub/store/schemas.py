"""Tenant-defined schema extensions: stored, listed, removed, and cached per tenant.

Each change is one transaction that also moves ``tenants.schemas_version``
(migration 0007). The server learns that version with the bearer token and
asks :meth:`SchemaStore.tenant_schemas` for the tenant's resource types only
when it is not 0; the answer is cached per (tenant, version), so a tenant
without extensions costs nothing more per request, one with extensions costs a
dictionary lookup, and a change made by any process (``scimhub schema add``,
another worker) is seen by the next request.

Removing an extension whose values some resources still hold is refused,
unless the caller asks to drop those values: then they are removed from each
resource (a new version and ``lastModified``, as any change) in the same
transaction as the extension.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import bindparam, delete, insert, select, update

from scimhub.scim.extensions import (
    BUILTIN,
    ExtendedType,
    Extension,
    ExtensionError,
    TenantSchemas,
    check_compatible,
    parse_extension,
    schema_to_document,
    tenant_schemas,
)
from scimhub.scim.schema import Attribute
from scimhub.scim.types import Document, TenantId
from scimhub.store.clock import now
from scimhub.store.database import Database
from scimhub.store.dialects import dialect_for
from scimhub.store.sql import Tx, dump_json, load_json
from scimhub.store.tables import groups, tenants, users
from scimhub.store.tables import tenant_schemas as schemas_table

_ROWS = (select(schemas_table.c.urn, schemas_table.c.resource_type, schemas_table.c.required,
                schemas_table.c.doc, schemas_table.c.created)
         .where(schemas_table.c.tenant_id == bindparam("tenant_id"))
         .order_by(schemas_table.c.created, schemas_table.c.urn))
_VERSION = select(tenants.c.schemas_version).where(tenants.c.id == bindparam("tenant_id"))
_BUMP = (update(tenants).where(tenants.c.id == bindparam("tenant_id"))
         .values(schemas_version=tenants.c.schemas_version + 1))
_INSERT = insert(schemas_table).values(
    tenant_id=bindparam("tenant_id"), urn=bindparam("urn"),
    resource_type=bindparam("resource_type"), required=bindparam("required"),
    doc=bindparam("doc"), created=bindparam("created"))
_DELETE = delete(schemas_table).where(schemas_table.c.tenant_id == bindparam("tenant_id"),
                                      schemas_table.c.urn == bindparam("urn"))


class UnknownTenant(LookupError):
    pass


class SchemaInUse(Exception):
    """Resources still hold values of the extension being removed."""


@dataclass(frozen=True)
class Registered:
    """One stored extension, as ``scimhub schema list`` shows it."""

    extension: Extension
    created: str

    @property
    def urn(self) -> str:
        return self.extension.schema.id

    def to_json(self) -> Document:
        return {"id": self.urn, "resourceType": self.extension.resource_type,
                "required": self.extension.required, "created": self.created,
                "schema": schema_to_document(self.extension.schema)}


def _registered(row: tuple[Any, ...]) -> Registered:
    doc = load_json(row[3])
    resource_type: ExtendedType = "Group" if row[1] == "Group" else "User"
    return Registered(Extension(parse_extension(doc), resource_type, bool(row[2])), str(row[4]))


class SchemaStore:
    """The tenant's extensions, and the resource types built from them."""

    #: Tenants whose resource types are kept built; beyond it the cache starts over.
    CACHE_SIZE: Final = 1024

    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect = dialect_for(db.is_sqlite)
        self._cache: dict[TenantId, tuple[int, TenantSchemas]] = {}
        self._lock = threading.Lock()

    # -- reads ---------------------------------------------------------------

    def tenant_id(self, name_or_id: str) -> TenantId:
        """The id of the tenant with this name (or id), for the command line."""
        with self.db.read() as tx:
            row = tx.first(select(tenants.c.id).where(tenants.c.name == name_or_id))
            if row is None:
                row = tx.first(select(tenants.c.id).where(tenants.c.id == name_or_id))
        if row is None:
            raise UnknownTenant(f"No tenant named {name_or_id!r}")
        return TenantId(str(row[0]))

    def registered(self, tenant: TenantId) -> list[Registered]:
        with self.db.read() as tx:
            return [_registered(r) for r in tx.all(_ROWS, {"tenant_id": tenant})]

    def cached(self, tenant: TenantId, version: int) -> TenantSchemas | None:
        """The tenant's resource types if already built at ``version`` (or later)."""
        if version == 0:
            return BUILTIN
        found = self._cache.get(tenant)
        return found[1] if found is not None and found[0] >= version else None

    def tenant_schemas(self, tenant: TenantId, version: int | None = None) -> TenantSchemas:
        """The tenant's resource types, from the cache when it holds ``version``.

        The version and the extensions are read in one transaction, so what is
        cached under a version is what that version meant.
        """
        if version is not None and (hit := self.cached(tenant, version)) is not None:
            return hit
        with self.db.read() as tx:
            current = int(tx.scalar(_VERSION, {"tenant_id": tenant}) or 0)
            rows = tx.all(_ROWS, {"tenant_id": tenant}) if current else []
        built = tenant_schemas([_registered(r).extension for r in rows])
        with self._lock:
            if len(self._cache) >= self.CACHE_SIZE:
                self._cache.clear()
            old = self._cache.get(tenant)
            if old is None or old[0] <= current:
                self._cache[tenant] = (current, built)
        return built

    def holders(self, tenant: TenantId, urn: str) -> int:
        """How many of the tenant's resources hold a value of extension ``urn``."""
        with self.db.read() as tx:
            return sum(len(self._holders(tx, tenant, table, urn)) for table in (users, groups))

    # -- writes --------------------------------------------------------------

    def add(self, tenant: TenantId, document: Mapping[str, Any] | object,
            resource_type: ExtendedType, required: bool = False) -> Registered:
        """Register an extension; :class:`ExtensionError` says why one is refused.

        A *required* extension is refused while the tenant has resources of that type:
        each of them would lack it, and every later write to them would then fail.
        """
        schema = parse_extension(document)
        extension = Extension(schema, resource_type, required)
        created = now()
        with self.db.write() as tx:
            if tx.first(_VERSION, {"tenant_id": tenant}) is None:
                raise UnknownTenant(f"No tenant {tenant}")
            existing = [_registered(r).extension for r in tx.all(_ROWS, {"tenant_id": tenant})]
            check_compatible(extension, existing)
            table = groups if resource_type == "Group" else users
            if required and tx.first(select(table.c.id).where(table.c.tenant_id == tenant)
                                     .limit(1)) is not None:
                raise ExtensionError(
                    f"{schema.id} cannot be registered as required: the tenant already has "
                    f"{resource_type} resources, which lack it")
            tx.execute(_INSERT, {"tenant_id": tenant, "urn": schema.id,
                                 "resource_type": resource_type, "required": required,
                                 "doc": dump_json(schema_to_document(schema)),
                                 "created": created})
            tx.execute(_BUMP, {"tenant_id": tenant})
        return Registered(extension, created)

    def remove(self, tenant: TenantId, urn: str, drop_values: bool = False) -> int:
        """Unregister ``urn``; returns how many resources had its values dropped.

        Raises :class:`SchemaInUse` when resources hold its values and ``drop_values``
        is false, and ``LookupError`` when the tenant has no such extension.
        """
        with self.db.write() as tx:
            rows = tx.all(_ROWS, {"tenant_id": tenant})
            match = next((r for r in rows if str(r[0]).lower() == urn.lower()), None)
            if match is None:
                raise LookupError(f"The tenant has no extension {urn}")
            stored_urn = str(match[0])
            table = groups if match[1] == "Group" else users
            held = self._holders(tx, tenant, table, stored_urn)
            if held and not drop_values:
                raise SchemaInUse(
                    f"{len(held)} {match[1]} resource(s) hold values of {stored_urn}; remove "
                    "those values first, or pass --drop-values to delete them with it")
            stamp = now()
            for rid, version, doc in held:
                kept = {k: v for k, v in load_json(doc).items() if k != stored_urn}
                tx.execute(update(table).where(table.c.tenant_id == tenant, table.c.id == rid)
                           .values(doc=dump_json(kept), version=int(version) + 1,
                                   last_modified=stamp))
            tx.execute(_DELETE, {"tenant_id": tenant, "urn": stored_urn})
            tx.execute(_BUMP, {"tenant_id": tenant})
        return len(held)

    def _holders(self, tx: Tx, tenant: TenantId, table: Any, urn: str
                 ) -> list[tuple[str, int, Any]]:
        block = self.dialect.scalar(table.c.doc, (urn,), Attribute(urn, type="complex"))
        rows = tx.all(select(table.c.id, table.c.version, table.c.doc)
                      .where(table.c.tenant_id == tenant, block.is_not(None))
                      .order_by(table.c.id))
        return [(str(r[0]), int(r[1]), r[2]) for r in rows]


__all__ = ["Registered", "SchemaInUse", "SchemaStore", "UnknownTenant"]
