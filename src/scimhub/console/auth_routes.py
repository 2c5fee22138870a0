"""Signing in and out."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.console import csrf
from scimhub.console.context import Console
from scimhub.console.event_log import client_address, record_event
from scimhub.console.lockout import Lock
from scimhub.console.pages import redirect
from scimhub.console.sessions import (
    COOKIE,
    Session,
    clear_cookie,
    current_session,
    safe_next,
    set_cookie,
    signed_in,
)
from scimhub.store.admins import tenant_of_email
from scimhub.store.sso import password_allowed

__all__ = ["auth_routes", "client_address", "failed_password", "locked_message"]

WRONG_PASSWORD = "Wrong e-mail or password."  # noqa: S105 - a message
#: RFC 3696's bound on an address, and the width of the e-mail column of failed sign-ins.
MAX_EMAIL_LENGTH = 320


def locked_message(lock: Lock) -> str:
    minutes = max(1, round((lock.until - time.time()) / 60))
    clock = datetime.fromtimestamp(lock.until, UTC).strftime("%H:%M UTC")
    return (f"Too many wrong passwords: sign-in for {lock.scope.value} is locked for {minutes} "
            f"more minute{'s' if minutes != 1 else ''} (until {clock}).")


def failed_password(console: Console, email: str, client: str | None, *, actor: str,
                    where: str | None = None) -> Lock | None:
    """Blocking: count a wrong password for ``email`` and record it (and the lock it caused,
    if any) in the activity log of the tenant whose admin has that e-mail; of no tenant when
    none has it. ``where``: the page it was typed on, when not the sign-in page."""
    lock = console.lockout.failed(email, client)
    tenant = tenant_of_email(console.ctx.db, email)
    console.events.record(tenant, "sign_in_failed", actor=actor, client=client,
                          detail=f"wrong password on {where}" if where else "wrong password")
    if lock is not None:
        clock = datetime.fromtimestamp(lock.until, UTC).strftime("%H:%M UTC")
        console.events.record(tenant, "locked_out", actor=actor, client=client,
                              detail=f"locked for {lock.scope.value} until {clock}")
    return lock


def auth_routes(console: Console) -> list[Route]:
    def sign_in_page(request: Request, token: str, *, status: int = 200, error: str | None = None,
                     email: str = "", notice: str | None = None) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        response = console.pages.render(request, "signin.html", csrf=token, status=status,
                                        error=error, email=email, notice=notice,
                                        next_url=next_url)
        if request.cookies.get(csrf.SIGN_IN_COOKIE) != token:
            set_cookie(response, request, csrf.SIGN_IN_COOKIE, token, samesite="strict")
        return response

    async def sign_in_form(request: Request) -> Response:
        if await current_session(console, request) is not None:
            return redirect(safe_next(request.query_params.get("next")))
        token = request.cookies.get(csrf.SIGN_IN_COOKIE) or csrf.new_sign_in_token()
        notice = "You are signed out." if "signed_out" in request.query_params else None
        if "welcome" in request.query_params:
            notice = "Your admin account is ready: sign in with your e-mail and new password."
        return sign_in_page(request, token, notice=notice)

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        token = request.cookies.get(csrf.SIGN_IN_COOKIE)
        if token is None or not csrf.matches(token, form.get(csrf.FIELD)):
            return console.pages.refused(request, csrf.new_sign_in_token())
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        if len(email) > MAX_EMAIL_LENGTH:  # no admin has one; the lockout table cannot hold it
            return sign_in_page(request, token, error=WRONG_PASSWORD,
                                email=email[:MAX_EMAIL_LENGTH])
        client = client_address(request)
        locked = await console.run(lambda: console.lockout.locked(email, client))
        if locked is not None:
            return sign_in_page(request, token, status=429, error=locked_message(locked),
                                email=email)
        admin = await console.slow(lambda: console.ctx.tenants.sign_in(email, password))
        if admin is None:
            locked = await console.run(lambda: failed_password(console, email, client,
                                                               actor=email))
            error = locked_message(locked) if locked is not None else WRONG_PASSWORD
            return sign_in_page(request, token, status=429 if locked else 200, error=error,
                                email=email)
        await console.run(lambda: console.lockout.succeeded(email, client))
        if not await console.run(lambda: password_allowed(console.ctx.db, admin.tenant_id,
                                                          admin.id)):
            await console.run(lambda: console.events.record(
                admin.tenant_id, "sign_in_failed", actor=admin.email, client=client,
                detail="password refused: the tenant requires single sign-on"))
            return sign_in_page(request, token, status=403, email=email, error=(
                "This tenant requires single sign-on: use Sign in with… on its sign-in "
                f"address, /signin/{admin.tenant_id}."))
        session_id = await console.run(lambda: console.sessions.start(admin.tenant_id, admin.id))
        await record_event(console, request, admin.tenant_id, "sign_in", actor=admin.email)
        response = redirect(safe_next(str(form.get("next", "/"))))
        set_cookie(response, request, COOKIE, session_id)
        clear_cookie(response, request, csrf.SIGN_IN_COOKIE)
        return response

    async def sign_out(request: Request, session: Session) -> Response:
        await console.run(lambda: console.sessions.end(session.id))
        await record_event(console, request, session.tenant_id, "sign_out", actor=session.email)
        response = redirect("/signin?signed_out=1")
        clear_cookie(response, request, COOKIE)
        return response

    return [
        Route("/signin", sign_in_form, methods=["GET"]),
        Route("/signin", sign_in, methods=["POST"]),
        Route("/signout", signed_in(console, sign_out), methods=["POST"]),
    ]
