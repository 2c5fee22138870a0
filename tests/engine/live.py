"""What the tests of the target client share: a live scimhub server with tenant contoso."""

from __future__ import annotations

from tests.e2e.server import ServerProcess

EMPTY_LIST = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
              "totalResults": 0, "Resources": []}


def token(server: ServerProcess) -> str:
    return str(server.tenants["contoso"]["token"])  # type: ignore[attr-defined]
