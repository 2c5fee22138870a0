"""The Provisioning page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.console.context import Console
from scimhub.console.sessions import Session, signed_in


def provisioning_routes(console: Console) -> list[Route]:
    async def provisioning(request: Request, session: Session) -> Response:
        jobs = await console.run(lambda: console.jobs.jobs(session.tenant_id))
        return console.pages.render(request, "provisioning.html", csrf=session.csrf,
                                    signed_in=session, jobs=jobs)

    return [Route("/provisioning", signed_in(console, provisioning), methods=["GET"])]
