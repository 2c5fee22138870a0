"""Keyset (cursor) listings stay inside their tenant, on every page, on both databases.

The first page and every page after a cursor are separate queries (the second adds the
``(sort key, id) > cursor`` bound), so each is walked to its end here as another tenant:
dropping the tenant condition from either query shows up as a foreign row or a wrong total.
"""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.scim.filter_parser import parse_attr_path, parse_filter
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import TenantId
from scimhub.store.resources import KeysetPage, ResourceStore
from scimhub.store.tenants import TenantStore


@pytest.fixture()
def pair(tenants: TenantStore) -> tuple[TenantId, TenantId]:
    """Two tenants; A is created first, so its ids and names interleave with B's below."""
    a = tenants.create("alpha", "admin@alpha.example", "pw-long-enough")[0].id
    b = tenants.create("beta", "admin@beta.example", "pw-long-enough")[0].id
    return a, b


def walk(resources: ResourceStore, tenant: TenantId, rtype: ResourceType, count: int,
         **options: Any) -> list[KeysetPage]:
    """Every page of one cursor listing, following ``last`` until it is None."""
    pages: list[KeysetPage] = []
    after: tuple[str | None, str] | None = None
    while True:
        page = resources.search_after(tenant, rtype, options.get("filter_"),
                                      options.get("sort_by"), options.get("descending", False),
                                      after, count)
        pages.append(page)
        if page.last is None:
            return pages
        after = page.last
        assert len(pages) < 100, "the listing does not end"


def names(pages: list[KeysetPage], attribute: str = "userName") -> list[str]:
    return [str(r.doc[attribute]) for p in pages for r in p.resources]


@pytest.mark.parametrize("descending", [False, True])
def test_a_cursor_listing_never_shows_another_tenants_users(
        resources: ResourceStore, pair: tuple[TenantId, TenantId], descending: bool) -> None:
    a, b = pair
    # Interleaved names: every page boundary of B's listing falls between A's rows.
    for i in range(12):
        resources.create(a, USER, {"userName": f"user-{i:02}-a", "title": "shared"})
        if i % 2:
            resources.create(b, USER, {"userName": f"user-{i:02}-b", "title": "shared"})
    mine = sorted(f"user-{i:02}-b" for i in range(1, 12, 2))
    expected = mine[::-1] if descending else mine
    by_name = walk(resources, b, USER, 2, sort_by=parse_attr_path("userName"),
                   descending=descending)
    assert names(by_name) == expected
    assert [p.total for p in by_name] == [6] * len(by_name)
    assert [len(p.resources) for p in by_name] == [2, 2, 2]
    filtered = walk(resources, b, USER, 4, filter_=parse_filter('title eq "shared"'))
    assert sorted(names(filtered)) == mine
    assert {p.total for p in filtered} == {6}
    by_id = walk(resources, b, USER, 1)
    assert sorted(names(by_id)) == mine and len(by_id) == 6


def test_a_cursor_from_another_tenants_listing_shows_only_your_rows(
        resources: ResourceStore, pair: tuple[TenantId, TenantId]) -> None:
    """A cursor names a row by sort key and id, not by tenant: replayed by B after one of
    A's rows, it must still list B's rows only."""
    a, b = pair
    for i in range(6):
        resources.create(a, GROUP, {"displayName": f"team-{i}-a"})
        resources.create(b, GROUP, {"displayName": f"team-{i}-b"})
    sort = parse_attr_path("displayName")
    first_of_a = resources.search_after(a, GROUP, None, sort, False, None, 2)
    assert first_of_a.last is not None
    replayed = resources.search_after(b, GROUP, None, sort, False, first_of_a.last, 100)
    assert names([replayed], "displayName") == [f"team-{i}-b" for i in range(1, 6)]
    assert replayed.total == 6 and replayed.last is None


def test_an_empty_tenant_lists_nothing_with_a_cursor(
        resources: ResourceStore, pair: tuple[TenantId, TenantId]) -> None:
    a, b = pair
    for i in range(3):
        resources.create(a, USER, {"userName": f"only-a-{i}"})
    empty = walk(resources, b, USER, 1, sort_by=parse_attr_path("userName"))
    assert [(p.total, p.resources, p.last) for p in empty] == [(0, [], None)]
