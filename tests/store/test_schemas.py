"""Tenant-defined schema extensions in storage, on SQLite and PostgreSQL (issue 11 §3).

Registration is one transaction that moves the tenant's schemas version (the
server's cache key); filters and sorting on extension attributes compile to
each database's JSON functions and must agree with what the values mean.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.extensions import Extension, ExtensionError, parse_extension, tenant_schemas
from scimhub.scim.filter_parser import parse_attr_path, parse_filter
from scimhub.scim.resource import normalize_resource
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import TenantId
from scimhub.store import tables
from scimhub.store.database import Database
from scimhub.store.resources import ResourceStore
from scimhub.store.schemas import SchemaInUse, SchemaStore, UnknownTenant
from scimhub.store.tenants import TenantStore

URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
GROUP_URN = "urn:example:scim:extension:Acme:2.0:Group"
DOCUMENT: dict[str, Any] = {
    "id": URN,
    "name": "CustomExtension",
    "attributes": [
        {"name": "costCenterCode", "type": "string"},
        {"name": "codeName", "type": "string", "caseExact": True},
        {"name": "badge", "type": "integer"},
        {"name": "rate", "type": "decimal"},
        {"name": "contractor", "type": "boolean"},
        {"name": "hired", "type": "dateTime"},
        {"name": "skills", "type": "string", "multiValued": True},
        {"name": "desks", "type": "complex", "multiValued": True,
         "subAttributes": [{"name": "value"}, {"name": "floor", "type": "integer"},
                           {"name": "primary", "type": "boolean"}]},
    ],
}


def always(_version: int) -> bool:
    return True


@pytest.fixture()
def schemas(db: Database) -> SchemaStore:
    return SchemaStore(db)


def _version(tenants: TenantStore, token: str) -> int:
    found = tenants.identify(token)
    assert found is not None
    return found[1]


def test_registering_moves_the_version_read_with_the_token(
    tenants: TenantStore, schemas: SchemaStore
) -> None:
    created, token = tenants.create("acme", "admin@acme.example", "pw-long-enough")
    assert _version(tenants, token) == 0
    assert schemas.tenant_schemas(created.id, 0).user is USER
    schemas.add(created.id, DOCUMENT, "User")
    version = _version(tenants, token)
    assert version == 1
    assert schemas.tenant_schemas(created.id, version).user.extension(URN) is not None
    schemas.remove(created.id, URN)
    assert _version(tenants, token) == 2
    assert schemas.tenant_schemas(created.id, 2).user is USER


def test_the_cache_is_rebuilt_when_another_process_changed_the_set(
    db: Database, tenant: TenantId
) -> None:
    server, admin = SchemaStore(db), SchemaStore(db)  # e.g. `scimhub serve` and the CLI
    assert server.tenant_schemas(tenant, 0).user is USER
    admin.add(tenant, DOCUMENT, "User")
    assert server.cached(tenant, 1) is None  # the version moved: not served stale
    assert server.tenant_schemas(tenant, 1).user.extension(URN) is not None
    assert server.cached(tenant, 1) is server.tenant_schemas(tenant, 1)


def test_registered_extensions_are_listed_per_tenant(
    schemas: SchemaStore, tenant: TenantId, rival: TenantId
) -> None:
    schemas.add(tenant, DOCUMENT, "User")
    schemas.add(tenant, {"id": GROUP_URN, "attributes": [{"name": "site"}]}, "Group",
                required=True)
    listed = schemas.registered(tenant)
    assert [(r.urn, r.extension.resource_type, r.extension.required) for r in listed] == [
        (URN, "User", False), (GROUP_URN, "Group", True)]
    assert listed[0].extension.schema == parse_extension(DOCUMENT)
    assert schemas.registered(rival) == []
    assert schemas.tenant_schemas(rival).user is USER
    built = schemas.tenant_schemas(tenant)
    assert built.group.required_extensions == frozenset({GROUP_URN})
    assert schemas.tenant_id("acme") == tenant
    with pytest.raises(UnknownTenant):
        schemas.tenant_id("nobody")


def test_a_refused_registration_stores_nothing(
    tenants: TenantStore, schemas: SchemaStore, resources: ResourceStore
) -> None:
    created, token = tenants.create("acme", "admin@acme.example", "pw-long-enough")
    with pytest.raises(ExtensionError):
        schemas.add(created.id, {"id": URN, "attributes": [{"name": "x", "type": "text"}]},
                    "User")
    schemas.add(created.id, DOCUMENT, "User")
    with pytest.raises(ExtensionError, match="already registered"):
        schemas.add(created.id, DOCUMENT, "User")
    resources.create(created.id, GROUP, {"displayName": "g"})
    with pytest.raises(ExtensionError, match="already has Group resources"):
        schemas.add(created.id, {"id": GROUP_URN, "attributes": [{"name": "site"}]}, "Group",
                    required=True)
    assert [r.urn for r in schemas.registered(created.id)] == [URN]
    assert _version(tenants, token) == 1


def _users(schemas: SchemaStore, resources: ResourceStore, tenant: TenantId) -> ResourceType:
    schemas.add(tenant, DOCUMENT, "User")
    rtype = schemas.tenant_schemas(tenant).user
    rows: list[dict[str, Any]] = [
        {"costCenterCode": "CC-Alpha", "codeName": "Falcon", "badge": 30, "rate": 2.5,
         "contractor": True, "hired": "2020-01-01T00:00:00Z", "skills": ["Python", "SQL"],
         "desks": [{"value": "d1", "floor": 1}, {"value": "d9", "floor": 9, "primary": True}]},
        {"costCenterCode": "cc-beta", "codeName": "falcon", "badge": 4, "rate": 10,
         "contractor": False, "hired": "2021-06-01T12:00:00+02:00", "skills": ["Go"],
         "desks": [{"value": "d2", "floor": 2}]},
        {"costCenterCode": "CC-gamma", "badge": 100},
        {},
    ]
    for index, block in enumerate(rows):
        body = {"userName": f"u{index}", **({URN: block} if block else {})}
        resources.create(tenant, rtype, normalize_resource(body, rtype))
    return rtype


def _names(resources: ResourceStore, tenant: TenantId, rtype: ResourceType, text: str,
           sort: str | None = None, descending: bool = False) -> list[str]:
    page = resources.search(tenant, rtype, parse_filter(text) if text else None,
                            parse_attr_path(sort) if sort else None, descending, 1, 100)
    return [r.doc["userName"] for r in page.resources]


@pytest.mark.parametrize(("text", "expected"), [
    (f'{URN}:costCenterCode eq "cc-alpha"', ["u0"]),  # caseExact false: case-insensitive
    ('costCenterCode sw "CC-"', ["u0", "u1", "u2"]),  # a bare name found in one extension
    (f'{URN}:codeName eq "falcon"', ["u1"]),  # caseExact true
    (f"{URN}:badge gt 10", ["u0", "u2"]),  # numbers compare as numbers, not text
    (f"{URN}:rate ge 2.5", ["u0", "u1"]),
    (f"{URN}:contractor eq false", ["u1"]),
    (f'{URN}:hired gt "2021-01-01T00:00:00Z"', ["u1"]),
    (f'{URN}:skills eq "sql"', ["u0"]),
    (f"{URN}:desks.floor eq 2", ["u1"]),
    (f"{URN}:desks[floor gt 5]", ["u0"]),
    (f"{URN}:badge pr", ["u0", "u1", "u2"]),
    (f"not ({URN}:badge pr)", ["u3"]),
    (f'{URN}:costCenterCode ne "cc-beta"', ["u0", "u2", "u3"]),
])
def test_filters_on_extension_attributes(
    schemas: SchemaStore, resources: ResourceStore, tenant: TenantId, text: str,
    expected: list[str],
) -> None:
    rtype = _users(schemas, resources, tenant)
    assert sorted(_names(resources, tenant, rtype, text)) == expected


def test_sorting_on_extension_attributes(
    schemas: SchemaStore, resources: ResourceStore, tenant: TenantId
) -> None:
    rtype = _users(schemas, resources, tenant)
    assert _names(resources, tenant, rtype, f"{URN}:badge pr", f"{URN}:badge") == [
        "u1", "u0", "u2"]  # 4 < 30 < 100: by number, not by text
    assert _names(resources, tenant, rtype, f"{URN}:costCenterCode pr",
                  f"{URN}:costCenterCode", descending=True) == ["u2", "u1", "u0"]
    keyset = resources.search_after(tenant, rtype, parse_filter(f"{URN}:badge pr"),
                                    parse_attr_path(f"{URN}:costCenterCode"), False, None, 2)
    assert [r.doc["userName"] for r in keyset.resources] == ["u0", "u1"]


def test_the_builtin_type_does_not_know_another_tenants_extension(
    schemas: SchemaStore, resources: ResourceStore, tenant: TenantId, rival: TenantId
) -> None:
    _users(schemas, resources, tenant)
    with pytest.raises(InvalidFilter):
        resources.search(rival, schemas.tenant_schemas(rival).user,
                         parse_filter(f'{URN}:costCenterCode eq "x"'), None, False, 1, 10)


def test_removal_is_refused_while_resources_hold_values_unless_they_are_dropped(
    schemas: SchemaStore, resources: ResourceStore, tenant: TenantId
) -> None:
    rtype = _users(schemas, resources, tenant)
    assert schemas.holders(tenant, URN) == 3
    with pytest.raises(SchemaInUse, match="3 User resource"):
        schemas.remove(tenant, URN)
    assert [r.urn for r in schemas.registered(tenant)] == [URN]
    before = {r.doc["userName"]: r for r in resources.search(
        tenant, rtype, None, None, False, 1, 10).resources}
    assert schemas.remove(tenant, URN.upper(), drop_values=True) == 3
    assert schemas.registered(tenant) == []
    after = resources.search(tenant, USER, None, None, False, 1, 10).resources
    for row in after:
        assert URN not in row.doc
        old = before[row.doc["userName"]]
        changed = URN in old.doc
        assert row.version == old.version + (1 if changed else 0)
        assert (row.last_modified != old.last_modified) is changed
    with pytest.raises(LookupError, match="no extension"):
        schemas.remove(tenant, URN)


def test_an_unused_extension_is_removed_at_once(
    schemas: SchemaStore, tenant: TenantId
) -> None:
    schemas.add(tenant, DOCUMENT, "User")
    assert schemas.remove(tenant, URN) == 0
    schemas.add(tenant, DOCUMENT, "User")  # and can be registered again


def test_deleting_a_tenant_deletes_its_extensions(
    db: Database, schemas: SchemaStore, tenant: TenantId
) -> None:
    table, tenant_table = tables.tenant_schemas, tables.tenants
    schemas.add(tenant, DOCUMENT, "User")
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys = ON")
        conn.execute(delete(tenant_table).where(tenant_table.c.id == tenant))
        assert conn.execute(select(func.count()).select_from(table)).scalar() == 0


def test_an_extension_built_from_storage_matches_the_pure_one(
    schemas: SchemaStore, tenant: TenantId
) -> None:
    schemas.add(tenant, DOCUMENT, "User")
    pure = tenant_schemas([Extension(parse_extension(DOCUMENT), "User")])
    assert schemas.tenant_schemas(tenant).user == pure.user
