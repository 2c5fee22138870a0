"""The SCIM endpoints for Users and Groups (RFC 7644 §3)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.scim.cursor import Cursor, decode_cursor, encode_cursor, fingerprint
from scimhub.scim.errors import InvalidFilter, InvalidValue
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
from scimhub.scim.resolve import resolve
from scimhub.scim.resource import check_required, normalize_resource
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import Document, Resource, TenantId
from scimhub.security import PASSWORD_HASH_PREFIX, hash_password
from scimhub.server.context import AppContext
from scimhub.server.hosts import tenant_url as base_url
from scimhub.server.queries import (
    Query,
    cursor_response,
    list_response,
    parse_query,
    read_search_request,
)
from scimhub.server.requests import not_modified, paths_param, precondition, read_json
from scimhub.server.responses import ScimResponse
from scimhub.server.streaming import stream_group


def hash_password_attribute(doc: Resource) -> Resource:
    """A user's ``password`` (writeOnly, returned never) is kept only as an Argon2 hash."""
    password = doc.get("password")
    if isinstance(password, str) and not password.startswith(PASSWORD_HASH_PREFIX):
        doc = {**doc, "password": hash_password(password)}
    return doc


class _PasswordToHash(Exception):
    """A PATCH sets ``password``: its transaction is abandoned, the password hashed with no
    lock held (Argon2 takes tens of milliseconds), and the PATCH run again with the hash."""

    def __init__(self, password: str) -> None:
        super().__init__("password to hash")  # the password itself stays out of messages
        self.password = password


class ResourceEndpoints:
    """The handlers of one resource type; one instance per type."""

    def __init__(self, ctx: AppContext, rtype: ResourceType) -> None:
        self.ctx = ctx
        #: The built-in type: its name, endpoint and routes. Requests resolve names against
        #: the tenant's own (``_tenant``), which adds the extensions it registered.
        self.rtype = rtype
        self.is_group = rtype is GROUP

    async def _tenant(self, request: Request) -> tuple[TenantId, ResourceType]:
        """The caller's tenant and its version of this resource type (docs/entra.md §1.4.5:
        a target's custom extensions are part of its schema)."""
        tenant = await self.ctx.tenant(request)
        schemas = await self.ctx.tenant_schemas(request, tenant)
        return tenant, schemas.of(self.rtype.name)

    def routes(self) -> list[Route]:
        prefix = self.rtype.endpoint
        return [
            Route(prefix, self.index, methods=["GET"]),
            Route(prefix, self.create, methods=["POST"]),
            Route(prefix + "/.search", self.search, methods=["POST"]),
            Route(prefix + "/{id}", self.get, methods=["GET"]),
            Route(prefix + "/{id}", self.replace, methods=["PUT"]),
            Route(prefix + "/{id}", self.patch, methods=["PATCH"]),
            Route(prefix + "/{id}", self.delete, methods=["DELETE"]),
        ]

    # -- rendering ----------------------------------------------------------

    def _projection(self, rtype: ResourceType, attributes: list[AttrPath],
                    excluded: list[AttrPath]) -> Projection:
        try:
            return make_projection(rtype, attributes, excluded)
        except InvalidValue as exc:
            raise InvalidValue(exc.detail) from None

    def _wants_references(self, proj: Projection) -> bool:
        """Members (or a user's groups) are read only when the response will show them."""
        return proj.wants("members" if self.is_group else "groups")

    @staticmethod
    def _render(rtype: ResourceType, stored: StoredResource, proj: Projection, base: str
                ) -> Resource:
        return apply_projection(render(stored, rtype, base), rtype, proj)

    def _one(self, request: Request, rtype: ResourceType, stored: StoredResource,
             proj: Projection, status: int = 200) -> ScimResponse:
        doc = self._render(rtype, stored, proj, base_url(request))
        headers = {"ETag": etag(stored.version)}
        if status == 201:
            headers["Location"] = doc["meta"]["location"]
        return ScimResponse(doc, status_code=status, headers=headers)

    def _query_projection(self, request: Request, rtype: ResourceType) -> Projection:
        q = request.query_params
        return self._projection(rtype, paths_param(q.get("attributes")),
                                paths_param(q.get("excludedAttributes")))

    # -- reads --------------------------------------------------------------

    async def get(self, request: Request) -> Response:
        tenant, rtype = await self._tenant(request)
        proj = self._query_projection(request, rtype)
        rid = request.path_params["id"]
        refs = self._wants_references(proj)
        stream = refs and self.is_group and proj == Projection()
        stored = await self.ctx.run(lambda: self.ctx.resources.get(
            tenant, rtype, rid, refs and not stream),
            cheap=stream or not (self.is_group and refs))  # a user's groups are few
        if not_modified(request, stored.version):
            return Response(status_code=304, headers={"ETag": etag(stored.version)})
        if stream:
            return stream_group(self.ctx, tenant, stored, base_url(request), rtype)
        return self._one(request, rtype, stored, proj)

    async def index(self, request: Request) -> Response:
        tenant, rtype = await self._tenant(request)
        q = request.query_params
        return await self._query(request, tenant, rtype, dict(q))

    async def search(self, request: Request) -> Response:
        tenant, rtype = await self._tenant(request)
        body = await read_search_request(request, self.ctx.limits)
        return await self._query(request, tenant, rtype, body)

    async def _query(self, request: Request, tenant: TenantId, rtype: ResourceType,
                     params: Document) -> Response:
        query = parse_query(params, self.ctx.limits)
        if query.cursor is not None:
            return await self._cursor_page(tenant, rtype, query, base_url(request))
        total, resources = await self.page(tenant, rtype, query, query.start, query.count,
                                           base_url(request))
        return list_response(total, query.start, resources)

    async def _cursor_page(self, tenant: TenantId, rtype: ResourceType, query: Query,
                           base: str) -> Response:
        """RFC 9865 cursor pagination, as keyset queries."""
        marker = fingerprint(self.rtype.name, query.filter, query.sort_by, query.descending)
        after = None
        if query.cursor:
            cursor = decode_cursor(query.cursor, marker)
            after = (cursor.key, cursor.id)
        proj = self._projection(rtype, query.attributes, query.excluded)
        refs = self._wants_references(proj)

        def work() -> tuple[int, list[Resource], tuple[Any, str] | None]:
            page = self.ctx.resources.search_after(
                tenant, rtype, query.filter, query.sort_by, query.descending, after,
                query.count, refs)
            return (page.total, [self._render(rtype, r, proj, base) for r in page.resources],
                    page.last)

        total, docs, last = await self.ctx.run(work)  # rendering 1,000 results: off the loop
        following = (encode_cursor(Cursor(last[0], last[1], marker))
                     if last is not None else None)
        return cursor_response(total, docs, following)

    async def page(
        self, tenant: TenantId, rtype: ResourceType, query: Query, start: int, count: int,
        base: str, lenient: bool = False,
    ) -> tuple[int, list[Resource]]:
        """One page of matches; ``lenient`` ignores attribute names this type lacks."""
        attributes, excluded = query.attributes, query.excluded
        if lenient:
            attributes = [a for a in attributes if resolve(a, rtype) is not None]
            excluded = [a for a in excluded if resolve(a, rtype) is not None]
            if query.attributes and not attributes:
                attributes = [AttrPath("id")]
        proj = self._projection(rtype, attributes, excluded)
        refs = self._wants_references(proj)

        def work() -> tuple[int, list[Resource]]:
            page = self.ctx.resources.search(
                tenant, rtype, query.filter, query.sort_by, query.descending, start, count,
                refs)
            return page.total, [self._render(rtype, r, proj, base) for r in page.resources]

        # Rendering 1,000 results or scanning a filter: off the loop; Entra's probe is cheap.
        cheap = count <= CHEAP_PAGE and self.ctx.resources.is_lookup(
            rtype, query.filter, query.sort_by)
        return await self.ctx.run(work, cheap=cheap)

    # -- writes -------------------------------------------------------------

    def _normalize(self, rtype: ResourceType, body: Any
                   ) -> tuple[Resource, list[Member] | None]:
        """The stored form of a POST/PUT body, ``password`` hashed: called in a worker
        thread (``ctx.run``), before the transaction begins, since Argon2 takes tens of
        milliseconds of CPU that neither the event loop nor the write lock should wait
        for."""
        members: list[Member] | None = None
        if self.is_group and isinstance(body, dict):
            body = dict(body)
            key = next((k for k in body if k.lower() == "members"), None)
            members_attr = rtype.schema.attribute("members")
            assert members_attr is not None
            value = body.pop(key) if key else None
            members = list(parse_members(value, members_attr)) if value is not None else []
        doc = normalize_resource(body, rtype, self.ctx.limits.max_values_per_attribute)
        return hash_password_attribute(doc), members

    async def create(self, request: Request) -> Response:
        tenant, rtype = await self._tenant(request)
        body = await read_json(request, self.ctx.limits)
        proj = self._query_projection(request, rtype)
        refs = self._wants_references(proj)

        def work() -> StoredResource:
            doc, members = self._normalize(rtype, body)
            return self.ctx.resources.create(tenant, rtype, doc, members or (), refs)

        stored = await self.ctx.run(work, cheap=_small_write(request, self.is_group and refs))
        return self._one(request, rtype, stored, proj, status=201)

    async def replace(self, request: Request) -> Response:
        tenant, rtype = await self._tenant(request)
        body = await read_json(request, self.ctx.limits)
        rid = request.path_params["id"]
        check = precondition(request)
        proj = self._query_projection(request, rtype)
        refs = self._wants_references(proj)

        def work() -> StoredResource:
            doc, members = self._normalize(rtype, body)
            return self.ctx.resources.replace(tenant, rtype, rid, doc, check, members, refs)

        stored = await self.ctx.run(work, cheap=_small_write(request, self.is_group and refs))
        return self._one(request, rtype, stored, proj)

    async def patch(self, request: Request) -> Response:
        tenant, rtype = await self._tenant(request)
        body = await read_json(request, self.ctx.limits)
        ops = parse_patch_request(body, max_operations=self.ctx.limits.max_patch_operations)
        attr_ops, member_changes = split_member_operations(ops, rtype)
        limits = self.ctx.limits
        hashed: dict[str, str] = {}

        def transform(doc: Resource) -> Resource:
            patched = apply_patch(doc, attr_ops, rtype, limits)
            check_required(patched, rtype)
            password = patched.get("password")
            if isinstance(password, str) and not password.startswith(PASSWORD_HASH_PREFIX):
                if password not in hashed:
                    raise _PasswordToHash(password)  # rolls back; hashed outside, then again
                patched = {**patched, "password": hashed[password]}
            return patched

        rid = request.path_params["id"]
        check = precondition(request)
        q = request.query_params
        # Entra: group PATCH "should yield an HTTP 204 No Content": members can be huge.
        silent = self.is_group and "attributes" not in q and "excludedAttributes" not in q
        proj = self._query_projection(request, rtype)
        refs = not silent and self._wants_references(proj)

        def work() -> StoredResource:
            while True:
                try:
                    return self.ctx.resources.modify(
                        tenant, rtype, rid, transform, member_changes, check, refs)
                except _PasswordToHash as needed:
                    hashed[needed.password] = hash_password(needed.password)

        cheap = (len(ops) <= CHEAP_PATCH_OPERATIONS
                 and _small_write(request, self.is_group and refs,
                                  CHEAP_MEMBERS_BYTES if not attr_ops else CHEAP_BODY_BYTES))
        stored = await self.ctx.run(work, cheap=cheap)
        if silent:
            return Response(status_code=204, headers={"ETag": etag(stored.version)})
        return self._one(request, rtype, stored, proj)

    async def delete(self, request: Request) -> Response:
        tenant = await self.ctx.tenant(request)
        rid = request.path_params["id"]
        check = precondition(request)
        await self.ctx.run(lambda: self.ctx.resources.delete(tenant, self.rtype, rid, check),
                           cheap=True)
        return Response(status_code=204)


#: What the event loop may run itself on SQLite (``AppContext.run``): a body this small with
#: this few operations touches at most a few hundred values, about a millisecond of work.
CHEAP_BODY_BYTES = 4096
#: A PATCH that only adds or removes members (Entra sends up to 100 a request, about 7 KB):
#: id lookups and row inserts with no document to validate, so about a millisecond for this
#: many too; on a worker thread the hop and the write lock's handover between eight such
#: requests cost more than the work.
CHEAP_MEMBERS_BYTES = 16384
CHEAP_PATCH_OPERATIONS = 10
CHEAP_PAGE = 100


def _small_write(request: Request, members_back: bool,
                 limit: int = CHEAP_BODY_BYTES) -> bool:
    """A write whose work is bounded small: a short body without a ``password`` (Argon2
    takes tens of milliseconds), and no group members to read back for the response."""
    body: bytes | bytearray = getattr(request.state, "raw_body", b"")  # kept by read_json
    return (len(body) <= limit and b"password" not in body.lower()
            and not members_back)


def resource_routes(ctx: AppContext) -> list[Route]:
    endpoints = [ResourceEndpoints(ctx, USER), ResourceEndpoints(ctx, GROUP)]

    async def root_search(request: Request) -> Response:
        """RFC 7644 §3.4.3: one search over every resource type.

        Results come type by type (Users, then Groups), each sorted by
        ``sortBy`` where given; paging runs across the concatenation. A
        filter or attribute that a type does not have excludes that type
        instead of failing the whole search.
        """
        tenant = await ctx.tenant(request)
        schemas = await ctx.tenant_schemas(request, tenant)
        query = parse_query(await read_search_request(request, ctx.limits), ctx.limits)
        if query.cursor is not None:
            raise InvalidValue("Cursor pagination is offered per resource type, not on /.search")
        base = base_url(request)
        total, skip = 0, query.start - 1
        results: list[Resource] = []
        errors: list[InvalidFilter] = []
        for endpoint in endpoints:
            rtype = schemas.of(endpoint.rtype.name)
            try:
                found, _ = await endpoint.page(tenant, rtype, query, 1, 0, base, lenient=True)
            except InvalidFilter as exc:
                errors.append(exc)
                continue
            total += found
            wanted = query.count - len(results)
            if skip >= found or wanted <= 0:
                skip = max(0, skip - found)
                continue
            _, docs = await endpoint.page(tenant, rtype, query, skip + 1, wanted, base,
                                          lenient=True)
            results.extend(docs)
            skip = 0
        if len(errors) == len(endpoints):
            raise errors[0]
        return list_response(total, query.start, results)

    routes = [Route("/.search", root_search, methods=["POST"])]
    for endpoint in endpoints:
        routes.extend(endpoint.routes())
    return routes
