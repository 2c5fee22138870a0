"""Statements over a list of ids (``statements.id_slices``): prepared once per bucket size,
padded by repeating the last id, and run in slices past ``MAX_IDS``. These run with a tiny
``MAX_IDS`` so that slicing and padding happen with a handful of rows, on both databases."""

from __future__ import annotations

import pytest

from scimhub.scim.errors import InvalidValue
from scimhub.scim.patch import AddMembers, Member, RemoveMembers
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import TenantId
from scimhub.store import statements
from scimhub.store.resources import ResourceStore


def always(_version: int) -> bool:
    return True


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 9, 17])
def test_slices_cover_every_id_once_in_power_of_two_buckets(
        n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statements, "MAX_IDS", 4)
    ids = [f"id{i}" for i in range(n)]
    seen: list[str] = []
    for size, keys in statements.id_slices(ids):
        assert size in (1, 2, 4) and list(keys) == [f"k{i}" for i in range(size)]
        part = list(dict.fromkeys(keys.values()))  # padding repeats the slice's last id
        assert list(keys.values()) == part + [part[-1]] * (size - len(part))
        seen.extend(part)
    assert seen == ids


def test_members_and_groups_across_slices(
    resources: ResourceStore, tenant: TenantId, rival: TenantId,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Adds, the existence check, reads of members and of a page's groups, and removes give
    the same answers when their lists are padded (3 ids in a bucket of 4) or sliced (9 ids
    in slices of 4, 4 and 1), and stay within the tenant."""
    monkeypatch.setattr(statements, "MAX_IDS", 4)
    ids = [resources.create(tenant, USER, {"userName": f"u{i}"}).id for i in range(9)]
    foreign = resources.create(rival, USER, {"userName": "u0"}).id
    group = resources.create(tenant, GROUP, {"displayName": "g"}, [Member(i) for i in ids[:3]])
    other = resources.create(tenant, GROUP, {"displayName": "h"})
    resources.modify(tenant, GROUP, other.id, lambda d: d,
                     [AddMembers(tuple(Member(i) for i in [*ids, group.id]))], always)
    with pytest.raises(InvalidValue, match="No such member"):
        resources.modify(tenant, GROUP, group.id, lambda d: d,
                         [AddMembers((Member(ids[4]), Member(foreign)))], always)

    page = resources.search(tenant, GROUP, None, None, False, 1, 10, refs=True)
    members = {g.doc["displayName"]: [(r.id, r.type) for r in g.references or ()]
               for g in page.resources}
    assert members == {"g": sorted((i, "User") for i in ids[:3]),
                       "h": sorted([*((i, "User") for i in ids), (group.id, "Group")])}
    users = resources.search(tenant, USER, None, None, False, 1, 10, refs=True).resources
    groups_of = {u.id: sorted(r.display or "" for r in u.references or ()) for u in users}
    assert groups_of == {i: (["g", "h"] if i in ids[:3] else ["h"]) for i in ids}

    resources.modify(tenant, GROUP, other.id, lambda d: d,
                     [RemoveMembers((*ids[1:8], "not-a-member"))], always)
    left = resources.get(tenant, GROUP, other.id, refs=True).references or ()
    assert sorted(r.id for r in left) == sorted([ids[0], ids[8], group.id])


def test_a_pages_users_list_their_groups_by_name(
    resources: ResourceStore, tenant: TenantId, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each user of a page comes with its groups in the order of their names,
    case-insensitively (the statement is prepared per bucket size, not built per page), and
    a user in no group has none."""
    monkeypatch.setattr(statements, "MAX_IDS", 4)
    ids = [resources.create(tenant, USER, {"userName": f"u{i}"}).id for i in range(3)]
    names = ["b", "A", "c", "D", "e"]
    groups = {n: resources.create(tenant, GROUP, {"displayName": n}).id for n in names}

    def add(name: str, members: list[str]) -> None:
        resources.modify(tenant, GROUP, groups[name], lambda d: d,
                         [AddMembers(tuple(Member(m) for m in members))], always)

    def listed() -> dict[str, list[str]]:
        page = resources.search(tenant, USER, None, None, False, 1, 10, refs=True)
        return {u.id: [r.display or "" for r in u.references or ()] for u in page.resources}

    for name in ("c", "A", "b"):
        add(name, ids[:2])
    assert listed() == {ids[0]: ["A", "b", "c"], ids[1]: ["A", "b", "c"], ids[2]: []}
    add("e", ids[:1])
    add("D", ids[1:2])
    assert listed() == {ids[0]: ["A", "b", "c", "e"], ids[1]: ["A", "b", "c", "D"],
                        ids[2]: []}
