"""The signed-in admin of a request: the session cookie, and the guard on every page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from scimhub.console import csrf
from scimhub.console.context import Console
from scimhub.console.pages import redirect
from scimhub.scim.types import TenantId
from scimhub.store.sessions import SessionInfo

COOKIE = "scimhub_session"

Handler = Callable[[Request, "Session"], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Session:
    id: str
    info: SessionInfo

    @property
    def tenant_id(self) -> TenantId:
        return self.info.tenant_id

    @property
    def email(self) -> str:
        return self.info.email

    @property
    def csrf(self) -> str:
        return csrf.session_token(self.id)


async def current_session(console: Console, request: Request) -> Session | None:
    session_id = request.cookies.get(COOKIE)
    if not session_id or len(session_id) > 128:
        return None
    info = await console.run(lambda: console.sessions.find(session_id))
    return Session(session_id, info) if info is not None else None


def set_cookie(response: Response, request: Request, name: str, value: str,
               max_age: int | None = None, samesite: str = "lax") -> None:
    """HttpOnly always; Secure whenever the console is reached over HTTPS."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        secure=request.url.scheme == "https",
                        samesite=samesite)  # type: ignore[arg-type]


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True,
                           secure=request.url.scheme == "https", samesite="lax")


def safe_next(target: str | None) -> str:
    """Only a path on this server: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def signed_in(console: Console, handler: Handler) -> Endpoint:
    """Pages for signed-in admins only; every POST must carry the session's CSRF token."""

    async def endpoint(request: Request) -> Response:
        session = await current_session(console, request)
        if session is None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return redirect("/signin?next=" + quote(here, safe=""))
        if request.method == "POST":
            form = await request.form()
            if not csrf.matches(session.csrf, form.get(csrf.FIELD)):
                return console.pages.refused(request, session.csrf)
        return await handler(request, session)

    return endpoint
