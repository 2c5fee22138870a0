"""The first page after sign-in: what is in the directory, what happened last, what to do."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.console.activity_routes import rows
from scimhub.console.context import Console
from scimhub.console.sessions import Session, signed_in
from scimhub.scim.schemas import GROUP, USER
from scimhub.store.audit import AuditQuery


def overview_routes(console: Console) -> list[Route]:
    async def overview(request: Request, session: Session) -> Response:
        tenant, resources = session.tenant_id, console.ctx.resources

        def counts() -> tuple[int, int]:
            users = resources.search(tenant, USER, None, None, False, 1, 0).total
            return users, resources.search(tenant, GROUP, None, None, False, 1, 0).total

        users, groups = await console.run(counts)
        recent = await console.run(lambda: console.audit.page(tenant, AuditQuery(), 0, 5))
        return console.pages.render(
            request, "overview.html", csrf=session.csrf, signed_in=session, users=users,
            groups=groups, recent=rows(recent))

    return [Route("/", signed_in(console, overview), methods=["GET"])]
