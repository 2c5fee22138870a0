"""docs/entra.md §4: the fifteen behaviours a SCIM server must get right for Entra ID.

Each test sends exactly the request Entra sends (docs/entra.md cites the source).
"""

from __future__ import annotations

import uuid

import httpx

from tests.e2e.helpers import (
    CORE_GROUP,
    ENTERPRISE,
    create_group,
    create_user,
    entra_user_body,
    member_ids,
    patch,
    unique,
)


def test_1_empty_filter_is_200_with_empty_list_response(scim: httpx.Client) -> None:
    """Test Connection: 'The expected correct response is HTTP 200 OK with an empty SCIM
    ListResponse message.' The query string is encoded as Entra encodes it."""
    guid = uuid.uuid4()
    response = scim.get(f"/Users?filter=userName+eq+%22{guid}%22")
    assert response.status_code == 200
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 0
    assert body["Resources"] == []
    group_probe = scim.get(f"/Groups?excludedAttributes=members&filter=displayName+eq+%22{guid}%22")
    assert group_probe.status_code == 200
    assert group_probe.json()["totalResults"] == 0


def test_2_filter_by_matching_attributes_returns_exactly_the_match(scim: httpx.Client) -> None:
    """Entra matches with eq/and on userName, externalId and emails[type eq "work"].value."""
    user = create_user(scim)
    create_user(scim)
    name = user["userName"]
    for query in (
        f"userName+eq+%22{name}%22",
        f'externalId eq "{user["externalId"]}"',
        f'emails[type eq "work"].value eq "{name}@testuser.com"'.replace(" ", "+"),
        f'userName eq "{name}" and active eq true',
    ):
        response = scim.get(f"/Users?filter={query}")
        assert response.status_code == 200, (query, response.text)
        assert [r["id"] for r in response.json()["Resources"]] == [user["id"]], query


def test_3_user_name_and_group_display_name_are_case_insensitive(scim: httpx.Client) -> None:
    """'Filter for an existing user with a different case' (Microsoft SCIM Validator)."""
    name = unique("CaseUser")
    user = create_user(scim, name)
    found = scim.get("/Users", params={"filter": f'userName eq "{name.upper()}"'}).json()
    assert [r["id"] for r in found["Resources"]] == [user["id"]]
    assert scim.post("/Users", json=entra_user_body(name.lower())).status_code == 409
    group = create_group(scim, unique("CaseGroup"))
    lowered = group["displayName"].lower()
    found = scim.get("/Groups", params={"filter": f'displayName eq "{lowered}"',
                                        "excludedAttributes": "members"}).json()
    assert [r["id"] for r in found["Resources"]] == [group["id"]]


def test_4_post_returns_201_with_a_stable_id(scim: httpx.Client) -> None:
    """'POST → 201 with a stable string id that Entra caches.'"""
    response = scim.post("/Users", json=entra_user_body(unique()))
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body["id"], str) and body["id"]
    assert response.headers["location"].endswith(f"/Users/{body['id']}")
    again = scim.get(f"/Users/{body['id']}")
    assert again.json()["id"] == body["id"]
    assert again.json()["meta"]["resourceType"] == "User"
    assert again.headers["etag"] == body["meta"]["version"]


def test_5_duplicate_creates_are_409(scim: httpx.Client) -> None:
    """'Create a duplicate User' and 'Create a duplicate Group' expect 409 Conflict."""
    name = unique()
    create_user(scim, name)
    response = scim.post("/Users", json=entra_user_body(name))
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    group = create_group(scim)
    dup = scim.post("/Groups", json={"schemas": [CORE_GROUP], "displayName": group["displayName"]})
    assert dup.status_code == 409
    assert dup.json()["scimType"] == "uniqueness"


def test_6_patch_ops_are_case_insensitive(scim: httpx.Client) -> None:
    """'Microsoft Entra ID emits the values of op as Add, Replace, and Remove.'"""
    user = create_user(scim)
    response = patch(scim, f"/Users/{user['id']}",
                     {"op": "Add", "path": "nickName", "value": "Babs"},
                     {"op": "Replace", "path": "title", "value": "Engineer"},
                     {"op": "Remove", "path": "title"})
    assert response.status_code == 200, response.text
    body = scim.get(f"/Users/{user['id']}").json()
    assert body["nickName"] == "Babs"
    assert "title" not in body


def test_7_active_accepts_string_booleans(scim: httpx.Client) -> None:
    """Default (no flag) disable: {"op":"Replace","path":"active","value":"False"}."""
    user = create_user(scim, active="True")
    assert user["active"] is True
    assert patch(scim, f"/Users/{user['id']}",
                 {"op": "Replace", "path": "active", "value": "False"}).status_code == 200
    assert scim.get(f"/Users/{user['id']}").json()["active"] is False


def test_8_value_filter_paths_create_the_typed_element(scim: httpx.Client) -> None:
    """Entra PATCHes phoneNumbers[type eq "mobile"].value for a user with no mobile yet."""
    user = create_user(scim)
    response = patch(
        scim, f"/Users/{user['id']}",
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@contoso.com"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555-0100"},
        {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555-0101"},
    )
    assert response.status_code == 200, response.text
    body = scim.get(f"/Users/{user['id']}").json()
    assert [e["value"] for e in body["emails"] if e["type"] == "work"] == ["new@contoso.com"]
    assert body["phoneNumbers"] == [{"type": "mobile", "value": "555-0101"}]


def test_9_pathless_replace_with_dotted_and_urn_keys(scim: httpx.Client) -> None:
    """The aadOptscim062020 shape: a path-less replace whose keys are dotted or URN-qualified."""
    user = create_user(scim)
    response = patch(scim, f"/Users/{user['id']}", {"op": "replace", "value": {
        "displayName": "Bjfe",
        "name.givenName": "Kkom",
        "name.familyName": "Unua",
        f"{ENTERPRISE}:employeeNumber": "Aklq",
    }})
    assert response.status_code == 200, response.text
    body = scim.get(f"/Users/{user['id']}").json()
    assert body["displayName"] == "Bjfe"
    assert body["name"]["givenName"] == "Kkom"
    assert body["name"]["familyName"] == "Unua"
    assert body[ENTERPRISE]["employeeNumber"] == "Aklq"


def test_10_disabled_users_stay_readable_and_delete_is_204_then_404(scim: httpx.Client) -> None:
    """'The user object should be returned in a request whether or not the user is active.'"""
    user = create_user(scim)
    patch(scim, f"/Users/{user['id']}", {"op": "Replace", "path": "active", "value": False})
    assert scim.get(f"/Users/{user['id']}").json()["active"] is False
    found = scim.get("/Users", params={"filter": f'userName eq "{user["userName"]}"'}).json()
    assert found["Resources"][0]["active"] is False
    patch(scim, f"/Users/{user['id']}", {"op": "Replace", "path": "active", "value": "True"})
    assert scim.get(f"/Users/{user['id']}").json()["active"] is True
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert scim.get(f"/Users/{user['id']}").status_code == 404
    assert scim.delete(f"/Users/{user['id']}").status_code == 404


def test_11_group_membership_patch_shapes(scim: httpx.Client) -> None:
    """Add several members in one PATCH (idempotently), remove by value filter and by
    Entra's Remove + path "members" + value array (only the listed members)."""
    users = [create_user(scim)["id"] for _ in range(4)]
    group = create_group(scim)
    gid = group["id"]
    add = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u} for u in users]}
    assert patch(scim, f"/Groups/{gid}", add).status_code == 204
    assert patch(scim, f"/Groups/{gid}", add).status_code == 204
    assert member_ids(scim, gid) == set(users)
    response = patch(scim, f"/Groups/{gid}",
                     {"op": "Remove", "path": "members", "value": [{"value": users[0]}]})
    assert response.status_code == 204
    assert member_ids(scim, gid) == set(users[1:])
    response = patch(scim, f"/Groups/{gid}",
                     {"op": "remove", "path": f'members[value eq "{users[1]}"]'})
    assert response.status_code == 204
    assert member_ids(scim, gid) == set(users[2:])
    rename = {"op": "Replace", "path": "displayName", "value": unique("renamed")}
    assert patch(scim, f"/Groups/{gid}", rename).status_code == 204
    assert member_ids(scim, gid) == set(users[2:])


def test_12_excluded_attributes_members_is_honoured(scim: httpx.Client) -> None:
    """If a GET with excludedAttributes=members returns members, Entra logs
    MultipleEntriesInResponse."""
    user = create_user(scim)
    group = create_group(scim, members=[user["id"]])
    one = scim.get(f"/Groups/{group['id']}?excludedAttributes=members").json()
    assert "members" not in one
    listed = scim.get("/Groups", params={"excludedAttributes": "members",
                                         "filter": f'displayName eq "{group["displayName"]}"'})
    assert all("members" not in r for r in listed.json()["Resources"])
    assert [m["value"] for m in scim.get(f"/Groups/{group['id']}").json()["members"]] == [
        user["id"]]


def test_13_enterprise_extension_and_manager_shapes(scim: httpx.Client) -> None:
    """Manager as a bare id string (observed traffic), as {"value": id}, removable with ""."""
    manager = create_user(scim)
    user = create_user(scim, **{ENTERPRISE: {"department": "Sales", "employeeNumber": "42"}})
    path = f"{ENTERPRISE}:manager"
    assert patch(scim, f"/Users/{user['id']}",
                 {"op": "add", "path": path, "value": manager["id"]}).status_code == 200
    body = scim.get(f"/Users/{user['id']}").json()
    assert body[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert body[ENTERPRISE]["department"] == "Sales"
    assert patch(scim, f"/Users/{user['id']}",
                 {"op": "Replace", "path": path, "value": {"value": manager["id"]}}
                 ).status_code == 200
    assert patch(scim, f"/Users/{user['id']}",
                 {"op": "Replace", "path": path, "value": ""}).status_code == 200
    assert "manager" not in scim.get(f"/Users/{user['id']}").json()[ENTERPRISE]
    found = scim.get("/Users", params={"filter": f'{ENTERPRISE}:department eq "sales"'}).json()
    assert user["id"] in [r["id"] for r in found["Resources"]]


def test_14_values_are_stored_verbatim_and_read_only_input_is_ignored(scim: httpx.Client) -> None:
    """'A phone number sent as 55555555555 shouldn't be saved/returned as +5 (555) 555-5555';
    meta and unknown schema URIs (the ADSCIM group URI) are ignored; nulls are tolerated."""
    user = create_user(scim, phoneNumbers=[{"type": "mobile", "value": "55555555555"}],
                       title=None, addresses=None, id="client-chosen",
                       meta={"resourceType": "User", "created": "2001-01-01T00:00:00Z"})
    assert user["phoneNumbers"] == [{"type": "mobile", "value": "55555555555"}]
    assert user["id"] != "client-chosen"
    assert not user["meta"]["created"].startswith("2001")
    assert "title" not in user
    response = scim.post("/Groups", json={
        "schemas": [CORE_GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": str(uuid.uuid4()), "displayName": unique("adscim"),
        "meta": {"resourceType": "Group"}})
    assert response.status_code == 201, response.text
    assert response.json()["members"] == []


def test_15_bad_token_is_401_with_scim_body(server: object, scim: httpx.Client) -> None:
    """'Single static bearer token → 401 otherwise; application/scim+json.'"""
    response = scim.get("/Users", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json()["status"] == "401"
    assert scim.get("/Users", headers={"Authorization": ""}).status_code == 401
    assert scim.get("/Users").headers["content-type"].startswith("application/scim+json")
