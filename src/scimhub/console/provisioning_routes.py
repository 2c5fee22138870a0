"""The Provisioning page: the tenant's jobs and their provisioning log, searchable, exportable."""

from __future__ import annotations

import io
import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.console.context import Console
from scimhub.console.provisioning import EngineJobs, LogEntry
from scimhub.console.sessions import Session, signed_in
from scimhub.engine import write_csv


def _log(console: Console, session: Session, request: Request) -> list[LogEntry]:
    """The provisioning log this tenant's tokens wrote, filtered as the form asks."""
    source = console.jobs
    if not isinstance(source, EngineJobs):
        return []
    q = request.query_params
    return source.log(session.tenant_id, job=q.get("job") or None,
                      status=q.get("status") or None, action=q.get("action") or None,
                      text=q.get("search") or None, since=q.get("since") or None)


def provisioning_routes(console: Console) -> list[Route]:
    async def provisioning(request: Request, session: Session) -> Response:
        jobs = await console.run(lambda: console.jobs.jobs(session.tenant_id))
        log = await console.run(lambda: _log(console, session, request))
        fmt = request.query_params.get("format")
        if fmt == "json":
            return Response(json.dumps(log, indent=2), media_type="application/json",
                            headers={"Content-Disposition":
                                     'attachment; filename="provisioning-log.json"'})
        if fmt == "csv":
            out = io.StringIO()
            write_csv(out, log)
            return Response(out.getvalue(), media_type="text/csv",
                            headers={"Content-Disposition":
                                     'attachment; filename="provisioning-log.csv"'})
        return console.pages.render(request, "provisioning.html", csrf=session.csrf,
                                    signed_in=session, jobs=jobs, log=log,
                                    query=dict(request.query_params))

    return [Route("/provisioning", signed_in(console, provisioning), methods=["GET"])]
