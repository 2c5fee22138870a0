"""The Provisioning page: the tenant's jobs and their provisioning log, searchable, exportable."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.console.context import Console
from scimhub.console.provisioning import EngineJobs
from scimhub.console.sessions import Session, signed_in
from scimhub.store.provisioning import EngineState

EXPORT_COLUMNS = ["at", "job", "cycle_id", "kind", "identity", "source_id", "target_id",
                  "action", "status", "error_code", "detail", "duration_ms"]


def _log(console: Console, session: Session, request: Request) -> list[dict[str, Any]]:
    """The provisioning log of this tenant's jobs only, filtered as the form asks."""
    q = request.query_params
    source = console.jobs
    names = source.names(session.tenant_id) if isinstance(source, EngineJobs) else []
    wanted = [n for n in names if not q.get("job") or n == q.get("job")]
    state = EngineState(console.ctx.db)
    entries: list[dict[str, Any]] = []
    for name in wanted:
        entries += state.search_log(name, status=q.get("status") or None,
                                    action=q.get("action") or None,
                                    text=q.get("search") or None,
                                    since=q.get("since") or None, limit=500)
    return sorted(entries, key=lambda e: e["id"], reverse=True)[:500]


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
            writer = csv.writer(out)
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows([[e[c] for c in EXPORT_COLUMNS] for e in log])
            return Response(out.getvalue(), media_type="text/csv",
                            headers={"Content-Disposition":
                                     'attachment; filename="provisioning-log.csv"'})
        return console.pages.render(request, "provisioning.html", csrf=session.csrf,
                                    signed_in=session, jobs=jobs, log=log,
                                    query=dict(request.query_params))

    return [Route("/provisioning", signed_in(console, provisioning), methods=["GET"])]
