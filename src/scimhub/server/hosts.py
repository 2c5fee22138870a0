"""Which Host headers the server answers, and the public base URL it writes into responses.

SCIM answers carry absolute URLs (``Location``, ``meta.location``, ``$ref``) and the
console shows the Tenant URL to paste into an identity provider. Built from the request's
``Host`` header, they would say whatever the client claims (``Host: evil.example`` gives
``Location: http://evil.example/...``), which poisons caches and links. So:

- with a public URL (``scimhub serve --public-url``), every absolute URL is built from it,
  never from the request, and a public ``https://`` URL makes the console's cookies Secure
  (the TLS ends at a proxy before scimhub);
- requests whose ``Host`` is not trusted are refused with 400 before any route runs. The
  trusted names are the local ones (``localhost``, ``127.0.0.1``, ``::1``), the address the
  server binds, the public URL's host and any given with ``--trusted-hosts``.

``X-Forwarded-Host`` is never read. ``/healthz`` answers whatever the Host, for load
balancers that probe by address; it reflects nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from scimhub.scim.errors import ScimError
from scimhub.server.responses import error_response

PUBLIC_URL_ENV = "SCIMHUB_PUBLIC_URL"
TRUSTED_HOSTS_ENV = "SCIMHUB_TRUSTED_HOSTS"
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
#: Where SCIM is mounted, under the public base URL.
SCIM_PATH = "/scim/v2"
#: Where the middleware leaves the public base URL for :func:`public_base`.
_SCOPE_KEY = "scimhub.public_url"


class BadPublicUrl(ValueError):
    pass


def parse_public_url(url: str) -> str:
    """The public base URL without a trailing slash; BadPublicUrl says what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadPublicUrl(f"{url!r} is not an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise BadPublicUrl(f"{url!r} has a query or fragment")
    path = parts.path.rstrip("/")
    if path.endswith("/scim/v2"):
        raise BadPublicUrl(f"{url!r} is the Tenant URL: give the server's base URL, "
                           "without /scim/v2")
    return f"{parts.scheme}://{parts.netloc}{path}"


def host_name(value: str) -> str:
    """A Host header (or a configured name) without its port, lower-cased; IPv6 unbracketed."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


@dataclass(frozen=True)
class HostPolicy:
    trusted: frozenset[str]
    public_url: str | None = None

    @classmethod
    def build(cls, *, public_url: str | None = None, bind_host: str | None = None,
              trusted: Iterable[str] = ()) -> HostPolicy:
        names = {*LOCAL_NAMES, *(host_name(t) for t in trusted if t.strip())}
        if bind_host:
            names.add(host_name(bind_host))
        base = parse_public_url(public_url) if public_url else None
        if base is not None:
            names.add(host_name(urlsplit(base).netloc))
        return cls(frozenset(names), base)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> HostPolicy:
        """What ``scimhub serve`` passed its workers; the local names alone when unset."""
        trusted = environ.get(TRUSTED_HOSTS_ENV, "").split(",")
        return cls.build(public_url=environ.get(PUBLIC_URL_ENV) or None, trusted=trusted)

    def to_environment(self) -> dict[str, str]:
        env = {TRUSTED_HOSTS_ENV: ",".join(sorted(self.trusted))}
        if self.public_url:
            env[PUBLIC_URL_ENV] = self.public_url
        return env

    def allows(self, host_header: str | None) -> bool:
        """A request without Host (HTTP/1.0) is answered: its URLs use the bound address."""
        return host_header is None or host_name(host_header) in self.trusted


class HostCheck:
    """ASGI middleware: refuse untrusted Hosts; hand the public URL to :func:`public_base`."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy
        self.scheme = urlsplit(policy.public_url).scheme if policy.public_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if scope["path"] != "/healthz" and not self.policy.allows(host):
            await _refusal(scope)(scope, receive, send)
            return
        if self.policy.public_url is not None:
            scope[_SCOPE_KEY] = self.policy.public_url
            if self.scheme is not None:
                scope["scheme"] = self.scheme
        await self.app(scope, receive, send)


def public_base(request: Request) -> str:
    """The base of every absolute URL in a response, without a trailing slash.

    Without a public URL it is Starlette's ``base_url``, remembered per what it is built from
    (scheme, Host, server address, root path): building that URL object cost ~15 µs of every
    SCIM answer. Bounded: the Host check admits a few names, but any port with them."""
    scope = request.scope
    configured: Any = scope.get(_SCOPE_KEY)
    if isinstance(configured, str):
        return configured
    server = scope.get("server")
    key = (scope.get("scheme"), _header(scope, b"host"), tuple(server) if server else None,
           scope.get("app_root_path", scope.get("root_path", "")))
    found = _BASES.get(key)
    if found is None:
        found = str(request.base_url).rstrip("/")
        if len(_BASES) >= _MAX_BASES:
            _BASES.clear()
        _BASES[key] = found
    return found


#: Base URLs built from requests (``public_base``), by what they were built from.
_BASES: dict[tuple[Any, ...], str] = {}
_MAX_BASES = 256


def tenant_url(request: Request) -> str:
    """The Tenant URL (the SCIM base): from ``--public-url`` when configured, never from an
    untrusted Host. SCIM responses write it into every ``location`` and ``$ref``; the
    console shows it for pasting into an identity provider."""
    return public_base(request) + SCIM_PATH


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _refusal(scope: Scope) -> Response:
    """A SCIM error under /scim/, plain text elsewhere; the Host itself is not echoed."""
    detail = ("The Host header names a host this server does not serve: name it with "
              "scimhub serve --public-url or --trusted-hosts")
    if str(scope["path"]).startswith("/scim/"):
        return error_response(ScimError(detail))
    return PlainTextResponse(detail, status_code=400)
