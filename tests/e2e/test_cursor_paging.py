"""Cursor-based pagination (RFC 9865) next to index paging."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.helpers import assert_scim_error, create_group, create_user, unique

Params = dict[str, str | int]


def walk(scim: httpx.Client, params: Params) -> tuple[list[str], list[dict[str, Any]]]:
    names: list[str] = []
    pages: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = scim.get("/Users", params={**params, "cursor": cursor}).json()
        pages.append(page)
        names += [r["userName"] for r in page["Resources"]]
        if "nextCursor" not in page:
            return names, pages
        cursor = page["nextCursor"]


def test_cursor_pages_cover_every_match_once_in_order(scim: httpx.Client) -> None:
    tag = unique("cursor")
    expected = sorted(f"{tag}-{i:02}" for i in range(7))
    for name in reversed(expected):
        create_user(scim, name, title=tag)
    query: Params = {"filter": f'title eq "{tag}"', "sortBy": "userName", "count": 3}
    names, pages = walk(scim, query)
    assert names == expected
    assert [len(p["Resources"]) for p in pages] == [3, 3, 1]
    assert all(p["totalResults"] == 7 for p in pages)
    down, _ = walk(scim, {**query, "sortOrder": "descending"})
    assert down == expected[::-1]
    by_id, _ = walk(scim, {"filter": f'title eq "{tag}"', "count": 2})
    assert sorted(by_id) == expected


def test_cursors_are_checked(scim: httpx.Client) -> None:
    tag = unique("cursor")
    for i in range(3):
        create_user(scim, f"{tag}-{i}", title=tag)
    first = scim.get("/Users", params={"filter": f'title eq "{tag}"', "count": 1,
                                       "cursor": ""}).json()
    cursor = first["nextCursor"]
    assert_scim_error(scim.get("/Users", params={"cursor": "not-a-cursor"}), 400, "invalidCursor")
    assert_scim_error(scim.get("/Users", params={"filter": 'title eq "other"', "cursor": cursor}),
                      400, "invalidCursor")
    assert_scim_error(scim.get("/Users", params={"cursor": "", "startIndex": 2}), 400,
                      "invalidValue")
    config = scim.get("/ServiceProviderConfig").json()
    assert config["pagination"]["cursor"] is True and config["pagination"]["index"] is True


def walk_ids(client: httpx.Client, path: str, params: Params
             ) -> tuple[list[str], set[int]]:
    """Every id of a cursor listing, and the totals its pages reported."""
    ids: list[str] = []
    totals: set[int] = set()
    cursor = ""
    for _ in range(1000):
        response = client.get(path, params={**params, "cursor": cursor})
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [r["id"] for r in page["Resources"]]
        totals.add(page["totalResults"])
        if "nextCursor" not in page:
            return ids, totals
        cursor = page["nextCursor"]
    raise AssertionError(f"the cursor listing of {path} did not end")


def test_another_tenant_never_sees_a_row_through_cursors(
        scim: httpx.Client, other: httpx.Client) -> None:
    """Fabrikam walks every cursor page of Users and Groups, with and without filter and
    sort, and replays a contoso cursor: only fabrikam's rows, and fabrikam's totals."""
    tag = unique("tenantcursor")
    theirs = {create_user(scim, f"{tag}-{i}-c", title=tag)["id"] for i in range(5)}
    theirs |= {create_group(scim, f"{tag} {i} c")["id"] for i in range(3)}
    mine = {create_user(other, f"{tag}-{i}-f", title=tag)["id"] for i in range(3)}
    groups = {create_group(other, f"{tag} {i} f")["id"] for i in range(2)}
    for path in ("/Users", "/Groups"):
        everything = other.get(path, params={"count": 1000}).json()
        expected = {r["id"] for r in everything["Resources"]}
        assert everything["totalResults"] == len(expected), "fabrikam has under 1,000 rows"
        listings: list[Params] = [{"count": 2}, {"count": 2, "sortBy": "meta.created"},
                                  {"count": 3, "sortBy": "meta.lastModified",
                                   "sortOrder": "descending"}]
        for params in listings:
            ids, totals = walk_ids(other, path, params)
            assert not set(ids) & theirs, f"contoso rows in fabrikam's {path} {params}"
            assert sorted(ids) == sorted(expected) and totals == {len(expected)}, params
    tagged, totals = walk_ids(other, "/Users", {"filter": f'title eq "{tag}"',
                                                "sortBy": "userName", "count": 1})
    assert set(tagged) == mine and len(tagged) == 3 and totals == {3}
    named, _ = walk_ids(other, "/Groups", {"filter": f'displayName sw "{tag}"', "count": 1})
    assert set(named) == groups
    query: Params = {"filter": f'title eq "{tag}"', "sortBy": "userName", "count": 1}
    first = scim.get("/Users", params={**query, "cursor": ""}).json()
    assert first["totalResults"] == 5
    replayed = other.get("/Users", params={**query, "cursor": first["nextCursor"],
                                           "count": 100}).json()
    assert {r["id"] for r in replayed["Resources"]} == mine, "contoso's cursor, fabrikam's rows"
    assert replayed["totalResults"] == 3
