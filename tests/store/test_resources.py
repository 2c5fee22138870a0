"""The resource repository: one transaction per write, scoped by tenant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from scimhub.scim.errors import InvalidValue, NotFound, PreconditionFailed, Uniqueness
from scimhub.scim.filter_parser import parse_attr_path, parse_filter
from scimhub.scim.patch import AddMembers, Member, RemoveMembers
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import TenantId
from scimhub.security import TokenVault
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tables import group_members
from scimhub.store.tenants import TenantStore


def always(_version: int) -> bool:
    return True


def user(name: str, **extra: Any) -> dict[str, Any]:
    return {"userName": name, **extra}


def test_create_then_get(resources: ResourceStore, tenant: TenantId) -> None:
    created = resources.create(tenant, USER, user("ada", active=True))
    got = resources.get(tenant, USER, created.id)
    assert got.doc == {"userName": "ada", "active": True}
    assert got.version == 1


def test_user_name_unique_per_tenant_case_insensitively(
    resources: ResourceStore, tenant: TenantId, rival: TenantId
) -> None:
    resources.create(tenant, USER, user("Ada@Example.com"))
    with pytest.raises(Uniqueness):
        resources.create(tenant, USER, user("ada@example.COM"))
    resources.create(rival, USER, user("ada@example.com"))


def test_rows_of_another_tenant_do_not_exist(
    resources: ResourceStore, tenant: TenantId, rival: TenantId
) -> None:
    mine = resources.create(tenant, USER, user("mine"))
    with pytest.raises(NotFound):
        resources.get(rival, USER, mine.id)
    with pytest.raises(NotFound):
        resources.delete(rival, USER, mine.id, always)
    page = resources.search(rival, USER, parse_filter('userName eq "mine"'), None, False, 1, 10)
    assert page.total == 0


def test_modify_checks_version_in_the_write(resources: ResourceStore, tenant: TenantId) -> None:
    created = resources.create(tenant, USER, user("v"))

    def set_title(doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "title": "x"}

    with pytest.raises(PreconditionFailed):
        resources.modify(tenant, USER, created.id, set_title, [], lambda v: v == 99)
    assert "title" not in resources.get(tenant, USER, created.id).doc
    updated = resources.modify(tenant, USER, created.id, set_title, [], lambda v: v == 1)
    assert updated.version == 2


def test_modify_keeps_indexed_columns_in_step_with_the_document(
    resources: ResourceStore, tenant: TenantId
) -> None:
    """A change that leaves the indexed attributes as they were writes the document only;
    one that moves them rewrites their columns, so filters answered by an index still
    find the user by its new values and no longer by its old ones."""
    created = resources.create(tenant, USER, user("kept", externalId="e1", active=True))

    def found(text: str) -> list[str]:
        page = resources.search(tenant, USER, parse_filter(text), None, False, 1, 10)
        return [r.id for r in page.resources]

    titled = resources.modify(tenant, USER, created.id, lambda d: {**d, "title": "t"}, [],
                              always)
    assert titled.version == 2 and titled.last_modified >= created.last_modified
    stored = resources.get(tenant, USER, created.id)
    assert stored.doc["title"] == "t" and stored.version == 2
    assert found('userName eq "KEPT"') == [created.id]
    renamed = {"userName": "moved", "externalId": "e2", "active": False, "displayName": "D"}
    resources.modify(tenant, USER, created.id, lambda d: {**d, **renamed}, [], always)
    assert found('userName eq "kept"') == found('externalId eq "e1"') == []
    assert found('userName eq "MOVED"') == found('externalId eq "e2"') == [created.id]
    assert found("active eq false") == found('displayName eq "D"') == [created.id]
    assert resources.get(tenant, USER, created.id).version == 3


def test_unchanged_modify_keeps_the_version(resources: ResourceStore, tenant: TenantId) -> None:
    created = resources.create(tenant, USER, user("same"))
    again = resources.modify(tenant, USER, created.id, lambda d: d, [], always)
    assert again.version == created.version


def test_members_add_is_idempotent_and_remove_touches_only_listed(
    resources: ResourceStore, tenant: TenantId
) -> None:
    ids = [resources.create(tenant, USER, user(f"m{i}")).id for i in range(3)]
    group = resources.create(tenant, GROUP, {"displayName": "g"})
    add = AddMembers(tuple(Member(i) for i in ids))
    resources.modify(tenant, GROUP, group.id, lambda d: d, [add], always)
    second = resources.modify(tenant, GROUP, group.id, lambda d: d, [add], always)
    assert second.version == 2  # the repeated add changed nothing
    resources.modify(tenant, GROUP, group.id, lambda d: d, [RemoveMembers((ids[0],))], always)
    refs = resources.references(tenant, GROUP, [group.id])[group.id]
    assert sorted(r.id for r in refs) == sorted(ids[1:])


def test_members_must_exist_in_the_same_tenant(
    resources: ResourceStore, tenant: TenantId, rival: TenantId
) -> None:
    foreign = resources.create(rival, USER, user("foreign")).id
    group = resources.create(tenant, GROUP, {"displayName": "g"})
    with pytest.raises(InvalidValue):
        resources.modify(tenant, GROUP, group.id, lambda d: d,
                         [AddMembers((Member(foreign),))], always)
    assert resources.references(tenant, GROUP, [group.id])[group.id] == []


def test_deleting_a_user_removes_its_memberships(
    resources: ResourceStore, tenant: TenantId
) -> None:
    gone = resources.create(tenant, USER, user("gone")).id
    stays = resources.create(tenant, USER, user("stays")).id
    group = resources.create(tenant, GROUP, {"displayName": "g"},
                             [Member(gone), Member(stays)])
    resources.delete(tenant, USER, gone, always)
    refs = resources.references(tenant, GROUP, [group.id])[group.id]
    assert [r.id for r in refs] == [stays]
    assert resources.get(tenant, GROUP, group.id).version == 2
    with resources.db.engine.connect() as conn:
        orphans = conn.execute(
            select(func.count()).where(group_members.c.member_id == gone)
        ).scalar()
    assert orphans == 0


def test_search_sorts_and_pages(resources: ResourceStore, tenant: TenantId) -> None:
    for name in ("carol", "Alice", "bob", "dave"):
        resources.create(tenant, USER, user(name))
    page = resources.search(tenant, USER, None, parse_attr_path("userName"), False, 2, 2)
    assert page.total == 4
    assert [r.doc["userName"] for r in page.resources] == ["bob", "carol"]


def test_stream_members_reads_every_member_once_in_batches(
    resources: ResourceStore, tenant: TenantId
) -> None:
    ids = sorted(resources.create(tenant, USER, user(f"s{i}")).id for i in range(7))
    group = resources.create(tenant, GROUP, {"displayName": "streamed"},
                             [Member(i) for i in ids])
    batches = list(resources.stream_members(tenant, group.id, batch=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [r.id for b in batches for r in b] == ids
    assert {r.display for b in batches for r in b} == {f"s{i}" for i in range(7)}



def test_a_probe_that_finds_nothing_is_one_statement(tmp_path: Path) -> None:
    """Entra's probe before a create (``userName eq``, nothing found) runs its page query
    alone, with no BEGIN, count or COMMIT; one that finds its user still gets the total and
    the user's groups from one snapshot. (SQLite's trace callback counts the statements;
    the results themselves are checked on both databases by the tests above.)"""
    db = Database(f"sqlite:///{tmp_path}/probe.db")
    migrate(db)
    try:
        tenant = TenantStore(db, TokenVault(Fernet.generate_key())).create(
            "probe", "a@probe.example", "a long password")[0].id
        resources = ResourceStore(db)
        resources.create(tenant, USER, user("present"))
        with db.single() as tx:  # this thread's kept connection
            connection = tx.cursor.connection
        statements: list[str] = []
        connection.set_trace_callback(statements.append)
        missing = resources.search(tenant, USER, parse_filter('userName eq "absent"'),
                                   None, False, 1, 100)
        assert (missing.total, missing.resources) == (0, [])
        assert len(statements) == 1
        assert statements[0].lstrip().upper().startswith("SELECT")
        statements.clear()
        found = resources.search(tenant, USER, parse_filter('userName eq "PRESENT"'),
                                 None, False, 1, 100, refs=True)
        assert found.total == 1 and found.resources[0].doc["userName"] == "present"
        assert statements[1].upper().startswith("BEGIN")
        assert statements[-1].upper().startswith("COMMIT")
        connection.set_trace_callback(None)
    finally:
        db.dispose()
