"""What the server notes of every request: its id, one log line, and the metrics.

One pure ASGI middleware outside everything else, even Starlette's error middleware (see
:class:`ObservedApplication`), so that a 500, a refused Host, a NUL or a 429 is counted,
logged and carries its ``X-Request-Id`` like any other answer. Per request it reads the
headers once, wraps ``send`` to see the status, and after the response resolves the route
template from what Starlette's router left in the scope: no second match, no
BaseHTTPMiddleware (whose task and queue per request cost more than everything here).

The request id is the client's ``X-Request-Id`` when it is short and plain (at most 128 of
``A-Z a-z 0-9 . _ : -``), so that a proxy's id follows the request through, else a fresh
one; it is always returned, and every line logged while the request runs carries it.

The log line (logger ``scimhub.request``) holds the request id, the tenant id once the
bearer token named one, method, route template, SCIM operation and resource type, status,
duration and client address. Never the query string (a filter can hold a userName), a
header or a body: so never a token or a password. The path is logged for SCIM requests
only, where what it adds to the template is a resource id; a console path could one day
carry a one-time secret (an invitation's), and its template says enough.

Whether the line is written: ``scimhub serve --access-log/--no-access-log``
(``$SCIMHUB_ACCESS_LOG``); when neither is given, on with ``--log-format json`` (one line
per request is what a log pipeline wants) and off in text (a terminal does not).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimhub.logs import FIELDS_KEY, REQUEST_ID, current_format
from scimhub.server.hosts import SCIM_PATH
from scimhub.server.metrics import METRICS_PATH, Metrics
from scimhub.server.operations import Operation, classify, method_label, route_template

log = logging.getLogger("scimhub.request")

#: ``--access-log`` for the workers: "1" writes the request log, "0" does not, unset: it
#: follows the log format.
ACCESS_LOG_ENV: Final = "SCIMHUB_ACCESS_LOG"
HEADER: Final = b"x-request-id"
_SAFE_ID: Final = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_MAX_PATH: Final = 256
_SCIM_PREFIX: Final = SCIM_PATH + "/"
_METRICS: Final = Operation(METRICS_PATH, "metrics", "")


def access_log_from_environment(environ: Mapping[str, str] = os.environ) -> bool:
    value = environ.get(ACCESS_LOG_ENV, "").strip()
    if value in ("0", "1"):
        return value == "1"
    return current_format() == "json"


def request_id(scope: Scope) -> str:
    """The client's X-Request-Id if it is safe to repeat in a header and a log, else new."""
    for name, value in scope["headers"]:
        if name == HEADER:
            if _SAFE_ID.fullmatch(value):
                return bytes(value).decode("ascii")
            break
    return _fresh_ids.next()


class _FreshIds:
    """A fresh id is this process's random prefix and a counter (32 hex digits): unique
    across processes and restarts as a random id is (the prefix has 64 random bits), without
    a ``getrandom`` call per request. Not a secret: it is sent back to the client and
    logged. A forked child draws a prefix of its own."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"  # 32 hex digits, as before


_fresh_ids = _FreshIds()
os.register_at_fork(after_in_child=_fresh_ids.renew)


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None,
                 log_requests: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        header = (HEADER, rid.encode("ascii"))
        status = 500  # unless a response starts: an exception nothing answered

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        metrics = self.metrics
        scrape = metrics is not None and scope["path"] == METRICS_PATH
        reset = REQUEST_ID.set(rid)
        try:
            if scrape:
                assert metrics is not None
                await metrics.respond(scope, receive, observed_send)
            else:
                await self.app(scope, receive, observed_send)
        finally:
            REQUEST_ID.reset(reset)
            seconds = time.perf_counter() - started
            method = method_label(scope["method"])
            operation = _METRICS if scrape else classify(method, route_template(scope))
            if metrics is not None and not scrape:
                metrics.observe(method, operation, status, seconds)
            if self.log_requests and log.isEnabledFor(logging.INFO):
                _log(scope, rid, method, operation, status, seconds)


def _log(scope: Scope, rid: str, method: str, operation: Operation, status: int,
         seconds: float) -> None:
    state: Any = scope.get("state")
    tenant = state.get("tenant") if isinstance(state, dict) else None
    client = scope.get("client")
    path = str(scope["path"])
    fields: dict[str, Any] = {
        "request_id": rid,
        "tenant_id": str(tenant) if tenant is not None else None,
        "method": method,
        "route": operation.route,
        "path": path[:_MAX_PATH] if path.startswith(_SCIM_PREFIX) else None,
        "operation": operation.name,
        "resource_type": operation.resource_type or None,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "client": str(client[0]) if client else None,
    }
    log.info("%s %s %d", method, operation.route, status, extra={FIELDS_KEY: fields})


class ObservedApplication(Starlette):
    """Starlette with the :class:`RequestObserver` (``observe``) around its whole stack,
    outside the error middleware that answers 500s: a plain ``add_middleware`` would put it
    inside, where a 500 is an exception passing by rather than a response it can label."""

    def __init__(self, observe: Callable[[ASGIApp], ASGIApp], **kwargs: Any) -> None:
        self._observe = observe
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return self._observe(super().build_middleware_stack())
