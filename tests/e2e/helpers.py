"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def unique(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def entra_user_body(user_name: str, **extra: Any) -> dict[str, Any]:
    """The body of Entra's POST /Users (docs/entra.md §1.3, D-SCIM "Create User")."""
    body: dict[str, Any] = {
        "schemas": [CORE_USER, ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"{user_name}@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": [],
    }
    body.update(extra)
    return body


def create_user(client: httpx.Client, user_name: str | None = None, **extra: Any) -> dict[str, Any]:
    response = client.post("/Users", json=entra_user_body(user_name or unique(), **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


def create_group(client: httpx.Client, name: str | None = None,
                 members: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [CORE_GROUP], "displayName": name or unique("group")}
    if members is not None:
        body["members"] = [{"value": m} for m in members]
    response = client.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def patch(client: httpx.Client, path: str, *ops: dict[str, Any]) -> httpx.Response:
    return client.patch(path, json={"schemas": [PATCH_OP], "Operations": list(ops)})


def member_ids(client: httpx.Client, group_id: str) -> set[str]:
    response = client.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return {m["value"] for m in response.json().get("members", [])}


def assert_scim_error(response: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
