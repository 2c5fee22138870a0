"""One place that refuses U+0000 in what a request carries, before any route sees it.

PostgreSQL cannot store or compare NUL in text (SQLite can), so a NUL that
reached the database was a 500 on one database and accepted on the other.
It is refused here, the same way on both: in the path (ids), the query
string (filters, search boxes, page numbers), header values (the bearer
token) and, for the console, form bodies (the sign-in e-mail). SCIM JSON
bodies are checked once parsed (``requests.read_json``), because a JSON
string spells NUL as an escape this byte-level check cannot see.

SCIM requests get a SCIM error (400 invalidValue); other requests a 400
page, drawn by the ``ErrorPage`` the application is composed with (the console's
own, in ``scimhub.web``), or a minimal one: the server never imports the console.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Final
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimhub.scim.errors import InvalidValue
from scimhub.server.responses import error_response

_FORMS: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
#: Console forms hold an e-mail and a password: far below this.
MAX_FORM_BYTES: Final = 65_536
REFUSED: Final = "The request contains the character U+0000 (NUL), which is not allowed."

#: Draws the page answering a refused request that is not SCIM: (request, HTTP status,
#: what was wrong) to a response.
ErrorPage = Callable[[Request, int, str], Response]


def plain_error_page(_request: Request, status: int, what: str) -> Response:
    """A bare HTML page, for an application composed without a page renderer of its own.
    Not cached and never framed, as every console page."""
    return HTMLResponse(
        f"<!doctype html><title>Bad request</title><h1>Bad request</h1><p>{escape(what)}</p>",
        status_code=status,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                 "X-Frame-Options": "DENY"})


def _has_nul(raw: bytes) -> bool:
    # Percent-decoding yields NUL only from "%00": decode only then (most queries have none).
    return b"\x00" in raw or (b"%00" in raw and b"\x00" in unquote_to_bytes(raw))


class RefuseNul:
    """ASGI middleware: a request carrying NUL is answered 400 and goes no further."""

    def __init__(self, app: ASGIApp, page: ErrorPage = plain_error_page) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scim = str(scope["path"]).startswith("/scim/")
        bad = ("\x00" in scope["path"] or _has_nul(scope.get("query_string", b""))
               or any(b"\x00" in value for _, value in scope["headers"]))
        if not bad and not scim and scope["method"] == "POST":
            content_type = Request(scope).headers.get("content-type", "")
            if content_type.split(";", 1)[0].strip().lower() in _FORMS:
                body = await _read_body(receive)
                if body is None:
                    await self._refuse(scope, receive, send, scim, too_large=True)
                    return
                bad = b"\x00" in body or (content_type.startswith(_FORMS[0]) and _has_nul(body))
                receive = _replay(body, receive)
        if bad:
            await self._refuse(scope, receive, send, scim)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, scim: bool,
                      too_large: bool = False) -> None:
        response: Response
        if scim:
            response = error_response(InvalidValue(REFUSED))
        elif too_large:
            response = self.page(Request(scope), 413,
                                 f"The form is larger than {MAX_FORM_BYTES} bytes.")
        else:
            response = self.page(Request(scope), 400, REFUSED)
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole form body, or None past ``MAX_FORM_BYTES``."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if len(body) > MAX_FORM_BYTES:
            return None
        if not message.get("more_body", False):
            break
    return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the buffered body to the app, then defers to the server's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
