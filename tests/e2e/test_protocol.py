"""RFC 7644 protocol behaviour over HTTP: listing, sorting, paging, projections,
PUT, ETags, discovery, and a SCIM error for every bad input."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from scimhub.store.database import Database
from scimhub.store.tables import users
from tests.e2e.helpers import (
    CORE_USER,
    ENTERPRISE,
    assert_scim_error,
    create_group,
    create_user,
    patch,
    unique,
)


def test_sort_and_page_with_correct_total(scim: httpx.Client) -> None:
    """RFC 7644 §3.4.2.4: startIndex is 1-based; totalResults counts every match."""
    tag = unique("page")
    for i in (3, 1, 2, 5, 4):
        create_user(scim, f"{tag}-{i}", title=tag)
    query = {"filter": f'title eq "{tag}"', "sortBy": "userName", "count": 2}
    first = scim.get("/Users", params={**query, "startIndex": 1}).json()
    second = scim.get("/Users", params={**query, "startIndex": 3}).json()
    last = scim.get("/Users", params={**query, "startIndex": 5}).json()
    assert first["totalResults"] == 5
    assert [r["userName"] for r in first["Resources"]] == [f"{tag}-1", f"{tag}-2"]
    assert [r["userName"] for r in second["Resources"]] == [f"{tag}-3", f"{tag}-4"]
    assert [r["userName"] for r in last["Resources"]] == [f"{tag}-5"]
    assert first["itemsPerPage"] == 2 and first["startIndex"] == 1
    down = scim.get("/Users", params={**query, "sortOrder": "descending"}).json()
    assert [r["userName"] for r in down["Resources"]] == [f"{tag}-5", f"{tag}-4"]


def test_filter_operators_and_grouping(scim: httpx.Client) -> None:
    tag = unique("ops")
    a = create_user(scim, f"{tag}-alpha", title=tag, nickName="Al")
    b = create_user(scim, f"{tag}-beta", title=tag)

    def ids(expression: str) -> set[str]:
        body = scim.get("/Users", params={"filter": f'title eq "{tag}" and ({expression})'}).json()
        return {r["id"] for r in body["Resources"]}

    assert ids('userName sw "' + tag + '-a"') == {a["id"]}
    assert ids('userName ew "BETA"') == {b["id"]}
    assert ids('userName co "alp"') == {a["id"]}
    assert ids("nickName pr") == {a["id"]}
    assert ids("not (nickName pr)") == {b["id"]}
    assert ids('nickName ne "Al"') == {b["id"]}
    assert ids(f'userName gt "{tag}-alpha"') == {b["id"]}
    assert ids('emails[type eq "work" and value co "alpha"]') == {a["id"]}
    assert ids(f'meta.created ge "{a["meta"]["created"]}"') == {a["id"], b["id"]}
    assert ids(f'{CORE_USER}:name.familyName eq "FAMILYNAME"') == {a["id"], b["id"]}


def test_attributes_and_excluded_attributes(scim: httpx.Client) -> None:
    user = create_user(scim, **{ENTERPRISE: {"department": "R&D"}})
    only = scim.get(f"/Users/{user['id']}", params={"attributes": "userName,name.givenName"}).json()
    assert set(only) == {"schemas", "id", "userName", "name"}
    assert only["name"] == {"givenName": "givenName"}
    without = scim.get(f"/Users/{user['id']}", params={"excludedAttributes": "emails,meta"}).json()
    assert "emails" not in without and "meta" not in without and "userName" in without
    ext = scim.get(f"/Users/{user['id']}",
                   params={"attributes": f"{ENTERPRISE}:department"}).json()
    assert ext[ENTERPRISE] == {"department": "R&D"}


def test_put_replaces_the_resource(scim: httpx.Client) -> None:
    user = create_user(scim, nickName="old")
    body = {"schemas": [CORE_USER], "userName": user["userName"], "title": "new"}
    response = scim.put(f"/Users/{user['id']}", json=body)
    assert response.status_code == 200, response.text
    replaced = scim.get(f"/Users/{user['id']}").json()
    assert replaced["title"] == "new" and "nickName" not in replaced
    assert replaced["meta"]["created"] == user["meta"]["created"]


def test_etags_and_preconditions(scim: httpx.Client) -> None:
    """RFC 7644 §3.14: If-Match on writes (412 on mismatch), If-None-Match on reads (304)."""
    user = create_user(scim)
    tag = scim.get(f"/Users/{user['id']}").headers["etag"]
    assert scim.get(f"/Users/{user['id']}", headers={"If-None-Match": tag}).status_code == 304
    op = {"op": "replace", "path": "nickName", "value": "x"}
    ok = scim.patch(f"/Users/{user['id']}", headers={"If-Match": tag},
                    json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                          "Operations": [op]})
    assert ok.status_code == 200 and ok.headers["etag"] != tag
    stale = scim.patch(f"/Users/{user['id']}", headers={"If-Match": tag},
                       json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                             "Operations": [{**op, "value": "y"}]})
    assert_scim_error(stale, 412)
    assert scim.get(f"/Users/{user['id']}").json()["nickName"] == "x"
    assert_scim_error(scim.delete(f"/Users/{user['id']}", headers={"If-Match": tag}), 412)
    assert scim.delete(f"/Users/{user['id']}", headers={"If-Match": ok.headers["etag"]}
                       ).status_code == 204


def test_delete_user_removes_it_from_groups(scim: httpx.Client) -> None:
    user, keep = create_user(scim), create_user(scim)
    group = create_group(scim, members=[user["id"], keep["id"]])
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    members = scim.get(f"/Groups/{group['id']}").json()["members"]
    assert [m["value"] for m in members] == [keep["id"]]


def test_user_groups_attribute_and_member_refs(scim: httpx.Client) -> None:
    user = create_user(scim, displayName="Ada Lovelace")
    group = create_group(scim, members=[user["id"]])
    read = scim.get(f"/Users/{user['id']}").json()
    assert read["groups"][0]["value"] == group["id"]
    assert read["groups"][0]["display"] == group["displayName"]
    member = scim.get(f"/Groups/{group['id']}").json()["members"][0]
    assert member["display"] == "Ada Lovelace"
    assert member["$ref"].endswith(f"/scim/v2/Users/{user['id']}")
    assert member["type"] == "User"


def test_discovery_endpoints(scim: httpx.Client) -> None:
    config = scim.get("/ServiceProviderConfig").json()
    assert config["patch"]["supported"] is True
    assert config["filter"]["maxResults"] >= 100
    schemas = scim.get("/Schemas").json()
    assert {s["id"] for s in schemas["Resources"]} >= {CORE_USER, ENTERPRISE}
    assert scim.get(f"/Schemas/{CORE_USER}").json()["name"] == "User"
    types = scim.get("/ResourceTypes").json()
    assert {t["name"] for t in types["Resources"]} == {"User", "Group"}
    assert scim.get("/ResourceTypes/User").json()["endpoint"] == "/Users"


def test_bad_inputs_get_scim_errors(scim: httpx.Client) -> None:
    user = create_user(scim)
    uid = user["id"]
    assert_scim_error(scim.post("/Users", content=b"{not json"), 400, "invalidSyntax")
    assert_scim_error(scim.post("/Users", json={"schemas": [CORE_USER]}), 400, "invalidValue")
    assert_scim_error(scim.post("/Users", json={"schemas": [CORE_USER], "userName": 5}),
                      400, "invalidValue")
    assert_scim_error(scim.post("/Users", content=b"{}", headers={"Content-Type": "text/plain"}),
                      415)
    assert_scim_error(scim.post("/Users", content=b" " * 2_000_000), 413)
    assert_scim_error(scim.get("/Users", params={"filter": 'userName eq "x'}), 400, "invalidFilter")
    assert_scim_error(scim.get("/Users", params={"filter": "nosuch eq 1"}), 400, "invalidFilter")
    assert_scim_error(scim.get("/Users", params={"filter": "active gt true"}), 400, "invalidFilter")
    assert_scim_error(patch(scim, f"/Users/{uid}", {"op": "replace", "path": "id", "value": "x"}),
                      400, "mutability")
    assert_scim_error(patch(scim, f"/Users/{uid}", {"op": "replace", "path": "nosuch",
                                                    "value": "x"}), 400)
    assert_scim_error(patch(scim, f"/Users/{uid}", {"op": "jump", "path": "title"}), 400)
    assert_scim_error(scim.get("/Users", params={"count": "many"}), 400, "invalidValue")
    assert_scim_error(scim.get("/Nothing"), 404)
    assert scim.get(f"/Users/{uid}").json()["userName"] == user["userName"]


def test_failed_patch_changes_nothing(scim: httpx.Client) -> None:
    """All operations or none (RFC 7644 §3.5.2)."""
    user = create_user(scim)
    response = patch(scim, f"/Users/{user['id']}",
                     {"op": "replace", "path": "nickName", "value": "applied?"},
                     {"op": "replace", "path": "active", "value": "not a boolean"})
    assert_scim_error(response, 400, "invalidValue")
    after = scim.get(f"/Users/{user['id']}").json()
    assert "nickName" not in after
    assert after["meta"]["version"] == user["meta"]["version"]


def test_user_password_is_stored_only_as_a_hash(server: object, scim: httpx.Client) -> None:
    """RFC 7643 §4.1.1: password is writeOnly and never returned; we keep only a hash."""
    user = create_user(scim, password="t1meMa$heen")
    assert "password" not in user
    patch(scim, f"/Users/{user['id']}", {"op": "replace", "path": "password",
                                         "value": "n3wPa$$word"})
    assert "password" not in scim.get(f"/Users/{user['id']}").json()
    assert_scim_error(scim.get("/Users", params={"filter": 'password eq "n3wPa$$word"'}),
                      400, "invalidFilter")
    database = Database(server.database)  # type: ignore[attr-defined]
    with database.engine.connect() as conn:
        stored = " ".join(str(r[0]) for r in conn.execute(select(users.c.doc)))
    database.dispose()
    assert "t1meMa$heen" not in stored and "n3wPa$$word" not in stored
    assert "$argon2id$" in stored


def test_inputs_that_were_500s_are_scim_errors_over_http(scim: httpx.Client) -> None:
    """Through a real server (uvicorn hands the app header bytes as sent): an ETag byte 0xB2
    ("²" in latin-1) matches nothing, NUL in a path or spelled \\u0000 in a filter is refused,
    and blank or listed sortBy, huge startIndex and wrongly typed attributes are 400s."""
    user = create_user(scim)
    path = f"/Users/{user['id']}"
    assert_scim_error(scim.delete(path, headers={"If-Match": b'W/"\xb2"'}), 412)
    assert scim.get(path, headers={"If-None-Match": b'"\xb2"'}).status_code == 200
    assert_scim_error(scim.get("/Users/%00"), 400, "invalidValue")
    assert_scim_error(scim.get("/Users", params={"filter": 'userName eq "\\u0000"'}), 400,
                      "invalidFilter")
    assert_scim_error(scim.post("/Users", json={"userName": "nul\u0000"}), 400, "invalidValue")
    assert_scim_error(scim.get("/Users", params={"sortBy": " "}), 400, "invalidValue")
    assert_scim_error(scim.get("/Users", params={"startIndex": "9" * 25}), 400, "invalidValue")
    assert_scim_error(scim.post("/Users/.search", json={"attributes": True}), 400,
                      "invalidValue")
    assert scim.delete(path).status_code == 204
