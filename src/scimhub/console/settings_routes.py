"""API Settings: the Tenant URL, and the token revealed or reset after the current password.

A token is shown only in the response to a POST that carried the right
password; it is never put in the session, and no page is cached.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.console.context import Console
from scimhub.console.event_log import record_event
from scimhub.console.reauth import WRONG_CURRENT_PASSWORD, confirm_password
from scimhub.console.sessions import Session, signed_in
from scimhub.server import tenant_url
from scimhub.store.admins import admin_emails

__all__ = ["WRONG_CURRENT_PASSWORD", "settings_routes"]


def settings_routes(console: Console) -> list[Route]:
    async def api_settings_page(request: Request, session: Session, *, status: int = 200,
                                **context: object) -> Response:
        admins = await console.run(lambda: admin_emails(console.ctx.db, session.tenant_id))
        values = {"token": None, "error": None, "notice": None, **context}
        return console.pages.render(request, "api_settings.html", csrf=session.csrf,
                                    signed_in=session, status=status,
                                    tenant_url=tenant_url(request), admins=admins, **values)

    async def check_password(request: Request, session: Session) -> tuple[int, str] | None:
        """None when the form carries the admin's current password, else (status, error)."""
        form = await request.form()
        return await confirm_password(console, request, session,
                                      str(form.get("password", "")), "API Settings")

    async def show(request: Request, session: Session) -> Response:
        return await api_settings_page(request, session)

    async def reveal(request: Request, session: Session) -> Response:
        failed = await check_password(request, session)
        if failed is not None:
            return await api_settings_page(request, session, status=failed[0], error=failed[1])
        token = await console.run(lambda: console.ctx.tenants.reveal_token(session.tenant_id))
        if token is None:
            return await api_settings_page(request, session, error=(
                "This token cannot be shown: it was sealed with another server key. "
                "Reset API Token issues a new one."))
        await record_event(console, request, session.tenant_id, "token_revealed",
                           actor=session.email)
        return await api_settings_page(request, session, token=token)

    async def reset_form(request: Request, session: Session) -> Response:
        return console.pages.render(request, "reset_token.html", csrf=session.csrf,
                                    signed_in=session, error=None)

    async def reset(request: Request, session: Session) -> Response:
        failed = await check_password(request, session)
        if failed is not None:
            return console.pages.render(request, "reset_token.html", csrf=session.csrf,
                                        signed_in=session, status=failed[0], error=failed[1])
        token = await console.run(lambda: console.ctx.tenants.reset_token(session.tenant_id))
        await record_event(console, request, session.tenant_id, "token_reset",
                           actor=session.email, detail="the previous token was revoked")
        return await api_settings_page(request, session, token=token, notice=(
            "A new token was issued. The previous token stopped working: paste this one into "
            "your identity provider's Secret Token field."))

    return [
        Route("/settings/api", signed_in(console, show), methods=["GET"]),
        Route("/settings/api/reveal", signed_in(console, reveal), methods=["POST"]),
        Route("/settings/api/reset", signed_in(console, reset_form), methods=["GET"]),
        Route("/settings/api/reset", signed_in(console, reset), methods=["POST"]),
    ]
