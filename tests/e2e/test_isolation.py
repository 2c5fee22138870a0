"""One tenant can never read, match, filter, update or delete another's resources,
nor learn that they exist: every endpoint answers as if they were not there."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.helpers import assert_scim_error, create_group, create_user, patch

PATCH_BODY = {"op": "Replace", "path": "displayName", "value": "stolen"}


@pytest.fixture()
def victims(scim: httpx.Client) -> dict[str, dict[str, object]]:
    user = create_user(scim)
    return {"user": user, "group": create_group(scim, members=[str(user["id"])])}


def test_other_tenant_cannot_read_by_id(other: httpx.Client, victims: dict) -> None:
    assert_scim_error(other.get(f"/Users/{victims['user']['id']}"), 404)
    assert_scim_error(other.get(f"/Groups/{victims['group']['id']}"), 404)


def test_other_tenant_cannot_find_by_filter_list_or_search(
        other: httpx.Client, victims: dict) -> None:
    user, group = victims["user"], victims["group"]
    for query in (f'userName eq "{user["userName"]}"', f'id eq "{user["id"]}"',
                  f'externalId eq "{user["externalId"]}"'):
        assert other.get("/Users", params={"filter": query}).json()["totalResults"] == 0
    listed = other.get("/Users", params={"count": 1000}).json()
    assert user["id"] not in [r["id"] for r in listed["Resources"]]
    searched = other.post("/Users/.search", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": f'userName eq "{user["userName"]}"'}).json()
    assert searched["totalResults"] == 0
    groups = other.get("/Groups", params={"filter": f'members.value eq "{user["id"]}"'}).json()
    assert groups["totalResults"] == 0
    by_name = other.get("/Groups", params={"filter": f'displayName eq "{group["displayName"]}"'})
    assert by_name.json()["totalResults"] == 0


def test_other_tenant_cannot_update_or_delete(
        scim: httpx.Client, other: httpx.Client, victims: dict) -> None:
    user, group = victims["user"], victims["group"]
    assert_scim_error(patch(other, f"/Users/{user['id']}", PATCH_BODY), 404)
    assert_scim_error(patch(other, f"/Groups/{group['id']}", PATCH_BODY), 404)
    put = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "stolen"}
    assert_scim_error(other.put(f"/Users/{user['id']}", json=put), 404)
    assert_scim_error(other.delete(f"/Users/{user['id']}"), 404)
    assert_scim_error(other.delete(f"/Groups/{group['id']}"), 404)
    assert scim.get(f"/Users/{user['id']}").json()["userName"] == user["userName"]
    assert scim.get(f"/Groups/{group['id']}").status_code == 200


def test_other_tenant_cannot_reference_foreign_members(
        other: httpx.Client, victims: dict) -> None:
    mine = create_group(other)
    response = patch(other, f"/Groups/{mine['id']}",
                     {"op": "add", "path": "members", "value": [{"value": victims["user"]["id"]}]})
    assert_scim_error(response, 400, "invalidValue")


def test_same_user_name_may_exist_in_two_tenants(scim: httpx.Client, other: httpx.Client) -> None:
    """Uniqueness is per tenant: a 409 here would reveal the other tenant's user."""
    user = create_user(scim)
    twin = create_user(other, str(user["userName"]))
    assert twin["id"] != user["id"]


def test_root_search_sees_only_its_own_tenant(
        scim: httpx.Client, other: httpx.Client, victims: dict) -> None:
    """RFC 7644 §3.4.3 searches every resource type at once: still one tenant only."""
    request = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
               "filter": f'id eq "{victims["user"]["id"]}" or id eq "{victims["group"]["id"]}"'}
    assert other.post("/.search", json=request).json()["totalResults"] == 0
    mine = scim.post("/.search", json=request).json()
    assert {r["id"] for r in mine["Resources"]} == {victims["user"]["id"], victims["group"]["id"]}
