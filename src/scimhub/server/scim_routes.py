"""The SCIM endpoints for Users and Groups (RFC 7644 §3)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.scim.errors import InvalidSyntax, InvalidValue
from scimhub.scim.filters import Filter
from scimhub.scim.patch import (
    Member,
    apply_patch,
    parse_members,
    parse_patch_request,
    split_member_operations,
)
from scimhub.scim.paths import AttrPath
from scimhub.scim.projection import Projection, apply_projection, make_projection
from scimhub.scim.render import StoredResource, etag, render
from scimhub.scim.resource import check_required, normalize_resource
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import LIST_RESPONSE, SEARCH_REQUEST, TenantId
from scimhub.server.context import AppContext
from scimhub.server.requests import (
    filter_param,
    int_param,
    not_modified,
    paths_param,
    precondition,
    read_json,
)
from scimhub.server.responses import ScimResponse


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/scim/v2"


class ResourceEndpoints:
    """The handlers of one resource type; one instance per type."""

    def __init__(self, ctx: AppContext, rtype: ResourceType) -> None:
        self.ctx = ctx
        self.rtype = rtype
        self.is_group = rtype is GROUP

    def routes(self) -> list[Route]:
        prefix = self.rtype.endpoint
        return [
            Route(prefix, self.list, methods=["GET"]),
            Route(prefix, self.create, methods=["POST"]),
            Route(prefix + "/.search", self.search, methods=["POST"]),
            Route(prefix + "/{id}", self.get, methods=["GET"]),
            Route(prefix + "/{id}", self.replace, methods=["PUT"]),
            Route(prefix + "/{id}", self.patch, methods=["PATCH"]),
            Route(prefix + "/{id}", self.delete, methods=["DELETE"]),
        ]

    # -- rendering ----------------------------------------------------------

    def _projection(self, attributes: list[AttrPath], excluded: list[AttrPath]) -> Projection:
        try:
            return make_projection(self.rtype, attributes, excluded)
        except InvalidValue as exc:
            raise InvalidValue(exc.detail) from None

    def _wants_references(self, proj: Projection) -> bool:
        return proj.wants("members" if self.is_group else "groups")

    async def _render_many(
        self, tenant: TenantId, items: list[StoredResource], proj: Projection, base: str
    ) -> list[dict[str, Any]]:
        refs: dict[str, Any] = {}
        if self._wants_references(proj):
            ids = [i.id for i in items]
            refs = await self.ctx.run(lambda: self.ctx.resources.references(
                tenant, self.rtype, ids))
        return [
            apply_projection(render(i, self.rtype, base, refs.get(i.id)), self.rtype, proj)
            for i in items
        ]

    async def _one(
        self, request: Request, tenant: TenantId, stored: StoredResource, status: int = 200
    ) -> ScimResponse:
        proj = self._query_projection(request)
        base = base_url(request)
        [doc] = await self._render_many(tenant, [stored], proj, base)
        headers = {"ETag": etag(stored.version)}
        if status == 201:
            headers["Location"] = doc["meta"]["location"]
        return ScimResponse(doc, status_code=status, headers=headers)

    def _query_projection(self, request: Request) -> Projection:
        q = request.query_params
        return self._projection(paths_param(q.get("attributes")),
                                paths_param(q.get("excludedAttributes")))

    # -- reads --------------------------------------------------------------

    async def get(self, request: Request) -> Response:
        tenant = await self.ctx.tenant(request)
        proj = self._query_projection(request)
        rid = request.path_params["id"]
        stored = await self.ctx.run(lambda: self.ctx.resources.get(tenant, self.rtype, rid))
        if not_modified(request, stored.version):
            return Response(status_code=304, headers={"ETag": etag(stored.version)})
        [doc] = await self._render_many(tenant, [stored], proj, base_url(request))
        return ScimResponse(doc, headers={"ETag": etag(stored.version)})

    async def list(self, request: Request) -> Response:
        tenant = await self.ctx.tenant(request)
        q = request.query_params
        return await self._query(request, tenant, dict(q))

    async def search(self, request: Request) -> Response:
        tenant = await self.ctx.tenant(request)
        body = await read_json(request, self.ctx.limits)
        if not isinstance(body, dict):
            raise InvalidSyntax("A SearchRequest must be a JSON object")
        schemas = body.get("schemas")
        if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST not in schemas):
            raise InvalidSyntax(f"'schemas' must be [\"{SEARCH_REQUEST}\"]")
        return await self._query(request, tenant, body)

    async def _query(self, request: Request, tenant: TenantId, params: dict[str, Any]) -> Response:
        limits = self.ctx.limits
        filter_: Filter | None = filter_param(params.get("filter"), limits)
        sort_by = params.get("sortBy")
        sort_path = paths_param(sort_by)[0] if isinstance(sort_by, str) and sort_by else None
        order = str(params.get("sortOrder") or "ascending").lower()
        if order not in ("ascending", "descending"):
            raise InvalidValue("'sortOrder' must be 'ascending' or 'descending'")
        start = max(1, int_param(params.get("startIndex"), "startIndex", 1))
        count = int_param(params.get("count"), "count", limits.default_count)
        count = min(max(0, count), limits.max_results)
        proj = self._projection(paths_param(params.get("attributes")),
                                paths_param(params.get("excludedAttributes")))
        page = await self.ctx.run(lambda: self.ctx.resources.search(
            tenant, self.rtype, filter_, sort_path, order == "descending", start, count))
        resources = await self._render_many(tenant, page.resources, proj, base_url(request))
        return ScimResponse({
            "schemas": [LIST_RESPONSE],
            "totalResults": page.total,
            "startIndex": start,
            "itemsPerPage": len(resources),
            "Resources": resources,
        })

    # -- writes -------------------------------------------------------------

    def _normalize(self, body: Any) -> tuple[dict[str, Any], list[Member] | None]:
        members: list[Member] | None = None
        if self.is_group and isinstance(body, dict):
            body = dict(body)
            key = next((k for k in body if k.lower() == "members"), None)
            members_attr = self.rtype.schema.attribute("members")
            assert members_attr is not None
            value = body.pop(key) if key else None
            members = list(parse_members(value, members_attr)) if value is not None else []
        return normalize_resource(body, self.rtype), members

    async def create(self, request: Request) -> Response:
        tenant = await self.ctx.tenant(request)
        body = await read_json(request, self.ctx.limits)
        doc, members = self._normalize(body)
        stored = await self.ctx.run(lambda: self.ctx.resources.create(
            tenant, self.rtype, doc, members or ()))
        return await self._one(request, tenant, stored, status=201)

    async def replace(self, request: Request) -> Response:
        tenant = await self.ctx.tenant(request)
        body = await read_json(request, self.ctx.limits)
        doc, members = self._normalize(body)
        rid = request.path_params["id"]
        check = precondition(request)
        stored = await self.ctx.run(lambda: self.ctx.resources.replace(
            tenant, self.rtype, rid, doc, check, members))
        return await self._one(request, tenant, stored)

    async def patch(self, request: Request) -> Response:
        tenant = await self.ctx.tenant(request)
        body = await read_json(request, self.ctx.limits)
        ops = parse_patch_request(body, max_operations=self.ctx.limits.max_patch_operations)
        attr_ops, member_changes = split_member_operations(ops, self.rtype)
        rtype = self.rtype

        def transform(doc: dict[str, Any]) -> dict[str, Any]:
            patched = apply_patch(doc, attr_ops, rtype)
            check_required(patched, rtype)
            return patched

        rid = request.path_params["id"]
        check = precondition(request)
        stored = await self.ctx.run(lambda: self.ctx.resources.modify(
            tenant, rtype, rid, transform, member_changes, check))
        q = request.query_params
        if self.is_group and "attributes" not in q and "excludedAttributes" not in q:
            # Entra: "should yield an HTTP 204 No Content": a group's members can be huge.
            return Response(status_code=204, headers={"ETag": etag(stored.version)})
        return await self._one(request, tenant, stored)

    async def delete(self, request: Request) -> Response:
        tenant = await self.ctx.tenant(request)
        rid = request.path_params["id"]
        check = precondition(request)
        await self.ctx.run(lambda: self.ctx.resources.delete(tenant, self.rtype, rid, check))
        return Response(status_code=204)


def resource_routes(ctx: AppContext) -> list[Route]:
    return [*ResourceEndpoints(ctx, USER).routes(), *ResourceEndpoints(ctx, GROUP).routes()]
