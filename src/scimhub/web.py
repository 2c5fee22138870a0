"""The whole web application: the SCIM server, its health check and the admin console.

Composed here, above both packages, because the console depends on the server and
the server must not depend on the console (``tests/test_layering.py``): the server
builds SCIM and ``/healthz`` and takes what else it serves as arguments; this module
hands it the console's pages, the console's audit of SCIM writes and the console's
error page. ``scimhub serve`` runs :func:`app_from_environment`.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from scimhub.console import console_routes, scim_audit
from scimhub.console.pages import Pages
from scimhub.console.provisioning import JobSource
from scimhub.server.app import build_context
from scimhub.server.app import create_app as create_server_app
from scimhub.server.context import AppContext
from scimhub.server.hosts import HostPolicy
from scimhub.server.metrics import Metrics
from scimhub.server.request_log import access_log_from_environment
from scimhub.store.database import database_url


def create_app(ctx: AppContext, hosts: HostPolicy | None = None,
               jobs: JobSource | None = None, *, metrics: Metrics | None = None,
               request_log: bool = False) -> Starlette:
    """SCIM at ``/scim/v2``, health at ``/healthz``, the console at ``/``.

    ``hosts``, ``metrics`` and ``request_log`` as in :func:`scimhub.server.app.create_app`
    (None: in-process test clients only; no /metrics; no request log); ``jobs`` what the
    console's Provisioning page lists (the engine's jobs in this database when None).
    """
    return create_server_app(ctx, hosts, routes=console_routes(ctx, jobs),
                             scim_middleware=[scim_audit(ctx)], error_page=Pages().error,
                             metrics=metrics, request_log=request_log)


def app_from_environment() -> Starlette:
    """The factory uvicorn's workers call: configuration comes from the environment."""
    # The audit-retention sweep (console/retention.py): checked here, so a bad --audit-retention
    # stops the worker at start with the reason.
    from scimhub.console.retention import with_retention
    from scimhub.server.environment import RETENTION_ENV

    ctx = build_context(database_url(os.environ.get("SCIMHUB_DATABASE_URL")))
    app = create_app(ctx, HostPolicy.from_environment(), metrics=Metrics.from_environment(),
                     request_log=access_log_from_environment())
    return with_retention(app, ctx.db, os.environ.get(RETENTION_ENV))
