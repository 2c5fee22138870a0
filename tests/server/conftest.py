"""The ASGI application in-process on SQLite and on PostgreSQL, for protocol and property tests.

Each database gets one app for the whole module (creating a PostgreSQL database
costs far more than a request), with a SCIM client of tenant ``fuzz`` and a
console client signed in as that tenant's admin.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from scimhub.scim.limits import Limits
from scimhub.security import TokenVault
from scimhub.server.context import AppContext
from scimhub.store.database import Database
from scimhub.store.migrate import migrate
from scimhub.store.resources import ResourceStore
from scimhub.store.tenants import TenantStore
from scimhub.web import create_app
from tests.support.postgres import temporary_database

ADMIN_EMAIL = "admin@fuzz.example"
ADMIN_PASSWORD = "pw-long-enough"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class App:
    """One in-process app: its database kind, a SCIM client and a signed-in console client."""

    kind: str
    scim: TestClient
    console: TestClient
    #: The console's CSRF token of the signed-in session.
    csrf: str
    token: str

    def anonymous(self) -> TestClient:
        """A console client without a session (sign-in form, redirects)."""
        return TestClient(self.console.app, base_url="http://testserver",
                          follow_redirects=False, raise_server_exceptions=False)


def send_raw(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]],
             body: bytes = b"", token: str | None = None) -> httpx2.Response:
    """Call the ASGI app with header bytes exactly as given.

    Test clients re-encode header values (a latin-1 byte 0xB2 arrives as UTF-8
    "Â²"); a real server hands the application the bytes the client sent, which
    Starlette reads as latin-1 ("²"). ``token`` adds ``Authorization: Bearer``
    unless ``headers`` carry their own.
    """
    given = {name.lower() for name, _ in headers}
    extra = [(b"host", b"testserver")]
    if token is not None and b"authorization" not in given:
        extra.append((b"authorization", f"Bearer {token}".encode()))
    if body and b"content-length" not in given:
        extra.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "server": ("testserver", 80),
             "client": ("127.0.0.1", 1234), "headers": [*extra, *headers]}
    sent: list[dict[str, Any]] = []
    delivered = False

    def finished() -> bool:
        return any(m["type"] == "http.response.body" and not m.get("more_body") for m in sent)

    async def receive() -> dict[str, Any]:
        """The body once; then, like a server, nothing until the client goes away."""
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        while not finished():
            await anyio.sleep(0.001)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        with contextlib.suppress(Exception):  # a 500 is sent before the exception re-raises
            await app(scope, receive, send)

    anyio.run(call)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return httpx2.Response(int(start["status"]), headers=start.get("headers", []),
                           content=content)


def raw_request(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]],
                token: str) -> int:
    """The status of a request whose header bytes reach the app exactly as given."""
    return send_raw(app, method, path, headers, token=token).status_code


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def _build(kind: str, path: Path, stack: ExitStack) -> App:
    url = (stack.enter_context(temporary_database("scimhub_server")) if kind == "postgresql"
           else f"sqlite:///{path}/app.db")
    db = Database(url)
    stack.callback(db.dispose)
    migrate(db)
    tenants = TenantStore(db, TokenVault(Fernet.generate_key()))
    ctx = AppContext(db, ResourceStore(db), tenants, Limits())
    _, token = tenants.create("fuzz", ADMIN_EMAIL, ADMIN_PASSWORD)
    app = create_app(ctx)
    scim = stack.enter_context(TestClient(
        app, base_url="http://testserver/scim/v2", headers={"Authorization": f"Bearer {token}"},
        raise_server_exceptions=False))
    console = stack.enter_context(TestClient(app, base_url="http://testserver",
                                             follow_redirects=False,
                                             raise_server_exceptions=False))
    form = csrf_of(console.get("/signin").text)
    signed = console.post("/signin", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                           "csrf": form})
    assert signed.status_code == 303, signed.text
    return App(kind, scim, console, csrf_of(console.get("/settings/api").text), token)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """Every test here runs on both databases: NUL, huge integers and collations differ."""
    with ExitStack() as stack:
        yield _build(request.param, tmp_path_factory.mktemp(f"app-{request.param}"), stack)


@pytest.fixture(scope="module")
def client(app: App) -> TestClient:
    """The SCIM client of tenant ``fuzz`` (base URL ``/scim/v2``)."""
    return app.scim
