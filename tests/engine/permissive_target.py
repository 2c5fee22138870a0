"""A SCIM target that refuses no duplicate, in memory, for tests of the engine's own care.

scimhub refuses a second ``userName`` and a second group ``displayName`` with 409, so a test
against it cannot see the engine create an object twice: the target hides the mistake. SCIM
does not require that: ``displayName`` is not unique in RFC 7643, and many targets accept two
groups, or even two users, with one name, and keep a member twice when it is added twice. This
target is such a one, and small: Users and Groups, ``eq`` filters joined by ``and`` (on
``userName``, ``displayName``, ``externalId``, ``id`` and ``members.value``), paging, POST, GET,
DELETE, and PATCH (members ``add`` appends, even a member already there; other operations go
through scimhub's own PATCH code, which is pure). What it does not support it answers with a
SCIM error, never silently. Its ``resources`` are read by the test to count duplicates.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import Any

from aiohttp import web

from scimhub.scim.errors import ScimError
from scimhub.scim.patch import apply_patch, parse_patch_request
from scimhub.scim.schemas import GROUP, USER
from tests.engine.threaded_server import ThreadedServer

SCIM_JSON = "application/scim+json"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
_CLAUSE = re.compile(r'\s*([A-Za-z.]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*', re.IGNORECASE)
_CASE_EXACT = {"id", "members.value"}


def _error(status: int, detail: str, scim_type: str | None = None) -> web.Response:
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return web.json_response(body, status=status, content_type=SCIM_JSON)


def _parse_filter(text: str) -> list[tuple[str, str]]:
    """``a eq "x" and b eq "y"`` as [(a, x), (b, y)]; anything else raises ValueError."""
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        found = _CLAUSE.fullmatch(part)
        if found is None:
            raise ValueError(f"unsupported filter clause: {part!r}")
        clauses.append((found.group(1), json.loads(f'"{found.group(2)}"')))
    return clauses


def _values(resource: dict[str, Any], attribute: str) -> list[str]:
    if attribute.lower() == "members.value":
        return [str(m.get("value")) for m in resource.get("members", [])]
    value = next((v for k, v in resource.items() if k.lower() == attribute.lower()), None)
    return [str(value)] if value is not None else []


def _matches(resource: dict[str, Any], clauses: list[tuple[str, str]]) -> bool:
    for attribute, wanted in clauses:
        exact = attribute.lower() in _CASE_EXACT
        values = _values(resource, attribute)
        if not any(v == wanted if exact else v.lower() == wanted.lower() for v in values):
            return False
    return True


class PermissiveTarget(ThreadedServer):
    """One tenant, one bearer token, at ``scim_url``; runs on its own thread's event loop."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.token = secrets.token_urlsafe(16)
        self.resources: dict[str, dict[str, dict[str, Any]]] = {"Users": {}, "Groups": {}}

    @property
    def scim_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/scim/v2"

    def listed(self, kind: str) -> list[dict[str, Any]]:
        """A copy of every resource of ``kind`` (read from the test's thread)."""
        return [json.loads(json.dumps(r)) for r in list(self.resources[kind].values())]

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_route("GET", "/scim/v2/{kind}", self._list)
        app.router.add_route("POST", "/scim/v2/{kind}", self._create)
        app.router.add_route("GET", "/scim/v2/{kind}/{id}", self._get)
        app.router.add_route("PATCH", "/scim/v2/{kind}/{id}", self._patch)
        app.router.add_route("DELETE", "/scim/v2/{kind}/{id}", self._delete)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "a valid bearer token is required")
        if request.match_info.get("kind") not in self.resources:
            return _error(404, f"no endpoint {request.path}")
        response: web.StreamResponse = await handler(request)
        return response

    def _out(self, kind: str, resource: dict[str, Any], request: web.Request) -> dict[str, Any]:
        if kind == "Groups" and "members" in request.query.get("excludedAttributes", ""):
            return {k: v for k, v in resource.items() if k != "members"}
        return resource

    async def _list(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        try:
            clauses = _parse_filter(request.query["filter"]) if "filter" in request.query else []
            start = max(1, int(request.query.get("startIndex", "1")))
            count = min(1000, max(0, int(request.query.get("count", "100"))))
        except ValueError as exc:
            return _error(400, str(exc), "invalidFilter")
        found = [r for r in self.resources[kind].values() if _matches(r, clauses)]
        page = found[start - 1:start - 1 + count]
        return web.json_response({"schemas": [LIST], "totalResults": len(found),
                                  "startIndex": start, "itemsPerPage": len(page),
                                  "Resources": [self._out(kind, r, request) for r in page]},
                                 content_type=SCIM_JSON)

    async def _create(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        body = await request.json()
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object", "invalidSyntax")
        rid = str(uuid.uuid4())
        resource = {**body, "id": rid, "meta": {"resourceType": kind[:-1]}}
        if kind == "Groups":
            resource.setdefault("members", [])
        self.resources[kind][rid] = resource  # no uniqueness: a second one is simply kept
        return web.json_response(resource, status=201, content_type=SCIM_JSON)

    async def _get(self, request: web.Request) -> web.Response:
        kind, rid = request.match_info["kind"], request.match_info["id"]
        resource = self.resources[kind].get(rid)
        if resource is None:
            return _error(404, f"no {kind} {rid}")
        return web.json_response(self._out(kind, resource, request), content_type=SCIM_JSON)

    async def _delete(self, request: web.Request) -> web.Response:
        kind, rid = request.match_info["kind"], request.match_info["id"]
        if self.resources[kind].pop(rid, None) is None:
            return _error(404, f"no {kind} {rid}")
        for group in self.resources["Groups"].values():
            group["members"] = [m for m in group.get("members", []) if m.get("value") != rid]
        return web.Response(status=204)

    async def _patch(self, request: web.Request) -> web.Response:
        kind, rid = request.match_info["kind"], request.match_info["id"]
        resource = self.resources[kind].get(rid)
        if resource is None:
            return _error(404, f"no {kind} {rid}")
        body = await request.json()
        operations = body.get("Operations", []) if isinstance(body, dict) else []
        members = list(resource.get("members", []))
        rest = []
        for op in operations:
            name, path = str(op.get("op", "")).lower(), str(op.get("path", ""))
            selected = re.fullmatch(r'members\[value eq "([^"]*)"\]', path)
            if kind == "Groups" and name == "add" and path == "members":
                members.extend({"value": m["value"]} for m in op.get("value", []))  # kept twice
            elif kind == "Groups" and name == "remove" and selected is not None:
                members = [m for m in members if m.get("value") != selected.group(1)]
            else:
                rest.append(op)
        try:
            doc = {k: v for k, v in resource.items() if k not in ("id", "meta", "members")}
            if rest:
                patch = {"schemas": body["schemas"], "Operations": rest}
                doc = apply_patch(doc, parse_patch_request(patch), GROUP if kind == "Groups"
                                  else USER)
        except ScimError as exc:  # scimhub's PATCH code refused the operation
            return _error(exc.status, exc.detail, exc.scim_type)
        updated = {**doc, "id": rid, "meta": resource["meta"]}
        if kind == "Groups":
            updated["members"] = members
        self.resources[kind][rid] = updated
        return web.json_response(updated, content_type=SCIM_JSON)
