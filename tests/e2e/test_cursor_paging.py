"""Cursor-based pagination (RFC 9865) next to index paging."""

from __future__ import annotations

import httpx

from tests.e2e.helpers import assert_scim_error, create_user, unique


def walk(scim: httpx.Client, params: dict[str, object]) -> tuple[list[str], list[dict]]:
    names: list[str] = []
    pages: list[dict] = []
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
    query = {"filter": f'title eq "{tag}"', "sortBy": "userName", "count": 3}
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
