"""Rendering console pages: Jinja2 templates, and the headers every page carries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from scimhub import __version__

if TYPE_CHECKING:
    from scimhub.console.sessions import Session

#: Pages show tenant data and secrets: never cached, never framed, no third-party anything.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


class Pages:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("scimhub.console", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["asset"] = lambda name: f"/assets/{name}?v={__version__}"
        self.env.globals["version"] = __version__

    def render(self, request: Request, template: str, *, csrf: str, status: int = 200,
               signed_in: Session | None = None, **context: Any) -> Response:
        """``signed_in``: the Session, for the header and its menu; None on the sign-in page."""
        html = self.env.get_template(template).render(
            request=request, csrf=csrf, session=signed_in, **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def error(self, request: Request, status: int, what: str) -> Response:
        """The page for a request refused before any console route ran (the server's NUL
        and form-size guard, ``server.guard.ErrorPage``): no session is known there, so
        the page has no menu and no form."""
        return self.render(request, "bad_request.html", csrf="", status=status, what=what)

    def refused(self, request: Request, csrf: str) -> Response:
        return self.render(request, "refused.html", csrf=csrf, status=403)
