"""Every console route, and the audit middleware for the SCIM mount."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from scimhub.console.activity_routes import activity_routes
from scimhub.console.admins_routes import admin_routes
from scimhub.console.audit import audit_middleware
from scimhub.console.auth_routes import auth_routes
from scimhub.console.context import Console
from scimhub.console.directory_routes import directory_routes
from scimhub.console.overview_routes import overview_routes
from scimhub.console.provisioning import JobSource
from scimhub.console.provisioning_routes import provisioning_routes
from scimhub.console.settings_routes import settings_routes
from scimhub.console.sso_routes import sso_routes
from scimhub.server import AppContext
from scimhub.store.audit import AuditStore


def console_routes(ctx: AppContext, jobs: JobSource | None = None) -> list[BaseRoute]:
    """The console's pages at ``/`` and its assets (served by scimhub, never a CDN)."""
    console = Console.create(ctx, jobs)
    return [
        *overview_routes(console),
        *auth_routes(console),
        *settings_routes(console),
        *directory_routes(console),
        *activity_routes(console),
        *provisioning_routes(console),
        *admin_routes(console),
        *sso_routes(console),
        Mount("/assets", app=StaticFiles(packages=[("scimhub.console", "static")]),
              name="assets"),
    ]


def scim_audit(ctx: AppContext) -> Middleware:
    """Records every SCIM write in the audit log that the Activity page shows."""
    # Written by the audit thread: a write on the event loop would wait there for a SCIM
    # write's lock.
    return audit_middleware(AuditStore(ctx.db))
