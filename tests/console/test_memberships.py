"""A group's members and a user's groups, a page at a time."""

from __future__ import annotations

from cryptography.fernet import Fernet

from scimhub.scim.patch import Member
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import TenantId
from scimhub.security import TokenVault
from scimhub.store import memberships as memberships_module
from scimhub.store.database import Database
from scimhub.store.memberships import Memberships
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore


def _tenant(tenants: TenantStore, name: str) -> TenantId:
    return tenants.create(name, f"admin@{name}.example", "pw-long-enough")[0].id


def test_member_page_pages_through_a_large_group(db: Database, tenants: TenantStore) -> None:
    tenant = _tenant(tenants, "acme")
    resources = ResourceStore(db)
    ids = [resources.create(tenant, USER, {"userName": f"u{i:04}", "displayName": f"User {i}"}).id
           for i in range(250)]
    group = resources.create(tenant, GROUP, {"displayName": "Everyone"},
                             [Member(i) for i in ids])
    memberships = Memberships(db)
    seen: list[str] = []
    for offset in range(0, 300, 100):
        page = memberships.member_page(tenant, group.id, offset, 100)
        assert page.total == 250
        seen += [m.id for m in page.items]
    assert seen == sorted(ids)
    first = memberships.member_page(tenant, group.id, 0, 1).items[0]
    assert first.type == "User" and first.display and first.display.startswith("User ")


def test_member_page_of_a_huge_group_reads_its_page_by_index(sqlite_db: Database) -> None:
    """A page walks the membership index in order from its offset: no sort of the group."""
    db = sqlite_db
    tenant = _tenant(TenantStore(db, TokenVault(Fernet.generate_key())), "big")
    group = ResourceStore(db).create(tenant, GROUP, {"displayName": "Huge"})
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) "
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
            "SELECT ?, ?, printf('m%06d', i), 'User' FROM n", (tenant, group.id))
    page = Memberships(db).member_page(tenant, group.id, 99_990, 50)
    assert page.total == 100_000
    assert [m.id for m in page.items] == [f"m{i:06}" for i in range(99_991, 100_001)]
    prepared = db.compiler.prepared(memberships_module._MEMBER_PAGE)
    params = {"tenant_id": tenant, "id": group.id, "limit": 50, "offset": 0}
    with db.read() as tx:
        plan = " | ".join(str(r[3]) for r in tx.cursor.execute(
            "EXPLAIN QUERY PLAN " + prepared.sql, prepared.arrange(params)).fetchall())
    assert "TEMP B-TREE" not in plan, plan
    assert "SEARCH group_members USING" in plan, plan


def test_group_page_lists_a_users_groups_by_name(db: Database, tenants: TenantStore) -> None:
    tenant = _tenant(tenants, "acme")
    resources = ResourceStore(db)
    user = resources.create(tenant, USER, {"userName": "alice"})
    for name in ("Zeta", "alpha", "Mid"):
        resources.create(tenant, GROUP, {"displayName": name}, [Member(user.id)])
    page = Memberships(db).group_page(tenant, user.id, 0, 2)
    assert page.total == 3
    assert [g.display for g in page.items] == ["alpha", "Mid"]


def test_pages_are_scoped_by_tenant(db: Database, tenants: TenantStore) -> None:
    acme, globex = _tenant(tenants, "acme"), _tenant(tenants, "globex")
    resources = ResourceStore(db)
    user = resources.create(acme, USER, {"userName": "alice"})
    group = resources.create(acme, GROUP, {"displayName": "G"}, [Member(user.id)])
    memberships = Memberships(db)
    assert memberships.member_page(globex, group.id, 0, 10).total == 0
    assert memberships.group_page(globex, user.id, 0, 10).total == 0
