"""The server's ASGI application: SCIM at ``/scim/v2`` and health at ``/healthz``.

Other routes (the console at ``/``) are handed in by whoever composes the whole
application (:mod:`scimhub.web`): the server never imports the console.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from scimhub.scim.errors import MethodNotAllowed, NotFound, RateLimited, ScimError
from scimhub.scim.limits import Limits
from scimhub.security import TokenVault
from scimhub.server.context import AppContext
from scimhub.server.discovery_routes import discovery_routes
from scimhub.server.guard import ErrorPage, RefuseNul, plain_error_page
from scimhub.server.hosts import SCIM_PATH, HostCheck, HostPolicy
from scimhub.server.metrics import Metrics
from scimhub.server.ratelimit import RefuseWhileLimited, TenantRateLimits
from scimhub.server.request_log import ObservedApplication, RequestObserver
from scimhub.server.responses import error_response
from scimhub.server.scim_routes import resource_routes
from scimhub.store.database import Database
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore

log = logging.getLogger("scimhub.server")


def build_context(url: str, limits: Limits | None = None,
                  rate_limits: TenantRateLimits | None = None) -> AppContext:
    """``rate_limits`` None: what ``scimhub serve`` set in the environment (none when unset)."""
    db = Database(url)
    return AppContext(db, ResourceStore(db), TenantStore(db, TokenVault.from_environment()),
                      limits or Limits(), rate_limits or TenantRateLimits.from_environment())


def create_app(ctx: AppContext, hosts: HostPolicy | None = None, *,
               routes: Sequence[BaseRoute] = (), scim_middleware: Sequence[Middleware] = (),
               error_page: ErrorPage = plain_error_page, metrics: Metrics | None = None,
               request_log: bool = False) -> Starlette:
    """The application. ``hosts`` decides which Host headers are answered and the public
    base URL; ``scimhub serve`` always passes one. None (in-process test clients only)
    answers any Host and builds URLs from it. ``metrics`` serves ``GET /metrics`` and
    counts every request (none: no /metrics); ``request_log`` writes one log line per
    request (server/request_log.py). Every answer carries an ``X-Request-Id`` either way.

    What the server does not own is handed in: ``routes`` served after SCIM and health
    (the console), ``scim_middleware`` wrapped around the SCIM mount (the console's audit
    log), and ``error_page``, which draws the page for a non-SCIM request refused before
    any route runs. Without them it is a SCIM server alone.
    """
    async def healthz(_request: Request) -> Response:
        try:
            await ctx.health(ctx.db.ping)
        except Exception as exc:
            if metrics is not None:
                metrics.database_error(ctx.db, exc)
            log.exception("health check failed")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def scim_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ScimError)
        headers: dict[str, str] | None = None
        if exc.status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="scimhub"'}
        elif isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return error_response(exc, headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if not request.url.path.startswith("/scim/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        if exc.status_code == 405:
            return error_response(MethodNotAllowed(f"{request.method} is not allowed here"))
        if exc.status_code == 404:
            return error_response(NotFound(f"No endpoint at {request.url.path}"))
        return error_response(_status_error(exc.status_code, str(exc.detail)))

    async def unexpected(_request: Request, exc: Exception) -> Response:
        if metrics is not None:
            metrics.database_error(ctx.db, exc)
        log.exception("unexpected error", exc_info=exc)
        return error_response(_status_error(500, "Internal server error"))

    all_routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Mount(SCIM_PATH, routes=[*resource_routes(ctx), *discovery_routes(ctx)],
              # First: a request whose credentials were refused a moment ago is answered
              # before the audit or any route runs (server/ratelimit.py).
              middleware=[Middleware(RefuseWhileLimited, limits=ctx.rate_limits),
                          *scim_middleware]),
        *routes,
    ]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        ctx.close()
        ctx.db.dispose()

    app = ObservedApplication(
        lambda inner: RequestObserver(inner, metrics, request_log),
        routes=all_routes,
        exception_handlers={ScimError: scim_error, HTTPException: http_error,
                            Exception: unexpected},
        lifespan=lifespan,
        middleware=[Middleware(HostCheck, policy=hosts)] if hosts is not None else None,
    )
    app.state.ctx = ctx
    # Outermost: NUL never reaches a route or the database.
    app.add_middleware(RefuseNul, page=error_page)
    return app


def _status_error(status: int, detail: str) -> ScimError:
    error = ScimError(detail)
    error.status = status
    return error
