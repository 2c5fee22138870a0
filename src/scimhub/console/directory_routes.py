"""The directory: Users and Groups, searched, sorted and paged, and one resource in detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.console.context import Console
from scimhub.console.paging import BadPage, Pager
from scimhub.console.search import parse_search
from scimhub.console.sessions import Session, signed_in
from scimhub.console.views import (
    attributes,
    bad_request,
    pretty_json,
    primary_email,
    scim_document,
)
from scimhub.scim.errors import NotFound, ScimError
from scimhub.scim.filter_parser import parse_attr_path
from scimhub.scim.render import StoredResource
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import TenantId
from scimhub.server import tenant_url
from scimhub.store.memberships import ReferencePage
from scimhub.store.resources import Page

PAGE_SIZE = 50


@dataclass(frozen=True)
class Kind:
    """What differs between the Users and the Groups pages."""

    rtype: ResourceType
    path: str
    title: str
    #: Sortable columns: sortBy value -> column heading; the first is the default.
    sorts: dict[str, str]


USERS = Kind(USER, "/users", "Users", {"userName": "User name", "displayName": "Display name",
                                       "meta.lastModified": "Last modified"})
GROUPS = Kind(GROUP, "/groups", "Groups", {"displayName": "Name",
                                           "meta.lastModified": "Last modified"})


class Row(TypedDict):
    """One line of the Users or Groups table, and the heading of a resource's page: named
    fields, so that a template asking for one the row lacks fails the type check, not a
    page (the templates are StrictUndefined)."""

    id: str
    last_modified: str
    external_id: str
    display_name: str
    #: Users only.
    user_name: NotRequired[str]
    email: NotRequired[str]
    active: NotRequired[bool | None]


def _row(kind: Kind, stored: StoredResource) -> Row:
    doc = stored.doc
    row: Row = {"id": stored.id, "last_modified": stored.last_modified,
           "external_id": doc.get("externalId") or "", "display_name": doc.get("displayName") or ""}
    if kind.rtype is USER:
        row["user_name"] = doc.get("userName", "")
        row["email"] = primary_email(doc)
        row["active"] = doc.get("active")
    return row


class DirectoryPages:
    def __init__(self, console: Console, kind: Kind) -> None:
        self.console = console
        self.kind = kind

    def routes(self) -> list[Route]:
        return [
            Route(self.kind.path, signed_in(self.console, self.index), methods=["GET"]),
            Route(self.kind.path + "/{id}", signed_in(self.console, self.detail),
                  methods=["GET"]),
        ]

    async def index(self, request: Request, session: Session) -> Response:
        q = request.query_params
        text = q.get("q", "")
        sort = q.get("sort") or ""
        if sort not in self.kind.sorts:
            sort = next(iter(self.kind.sorts))
        descending = q.get("order") == "desc"
        try:
            pager = Pager.read(request, PAGE_SIZE)
        except BadPage as exc:
            return bad_request(self.console, request, session, str(exc))
        search = parse_search(text, self.kind.rtype)
        error = None
        try:
            page = await self.console.run(lambda: self.console.ctx.resources.search(
                session.tenant_id, self.kind.rtype, search.filter, parse_attr_path(sort),
                descending, pager.start, PAGE_SIZE))
        except ScimError as exc:
            error, page = exc.detail, Page(0, [])
        def sort_url(attr: str) -> str:
            order = "desc" if attr == sort and not descending else "asc"
            url = request.url.include_query_params(sort=attr, order=order, page=1)
            return f"{url.path}?{url.query}"

        return self.console.pages.render(
            request, "directory.html", csrf=session.csrf, signed_in=session, kind=self.kind,
            text=text, search=search, error=error, sort=sort, descending=descending,
            sort_url=sort_url,
            rows=[_row(self.kind, r) for r in page.resources], pager=pager.counted(page.total))

    async def detail(self, request: Request, session: Session) -> Response:
        rid = request.path_params["id"]
        tenant, rtype = session.tenant_id, self.kind.rtype
        try:
            pager = Pager.read(request, PAGE_SIZE)
        except BadPage as exc:
            return bad_request(self.console, request, session, str(exc))
        try:
            stored = await self.console.run(
                lambda: self.console.ctx.resources.get(tenant, rtype, rid))
        except NotFound:
            return self.console.pages.render(
                request, "not_found.html", csrf=session.csrf, signed_in=session, status=404,
                what=f"No {rtype.name.lower()} with id {rid} in this tenant.")
        refs = await self.console.run(lambda: self._references(tenant, rid, pager))
        doc = scim_document(stored, rtype, tenant_url(request))
        return self.console.pages.render(
            request, "resource.html", csrf=session.csrf, signed_in=session, kind=self.kind,
            stored=stored, row=_row(self.kind, stored), sections=attributes(doc),
            raw=pretty_json(doc), refs=refs.items, pager=pager.counted(refs.total))

    def _references(self, tenant: TenantId, rid: str, pager: Pager) -> ReferencePage:
        memberships = self.console.memberships
        if self.kind.rtype is GROUP:
            return memberships.member_page(tenant, rid, pager.offset, pager.size)
        return memberships.group_page(tenant, rid, pager.offset, pager.size)


def directory_routes(console: Console) -> list[Route]:
    return [*DirectoryPages(console, USERS).routes(), *DirectoryPages(console, GROUPS).routes()]
