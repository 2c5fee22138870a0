"""The server's Prometheus metrics, and ``GET /metrics`` that serves them.

Off unless ``scimhub serve --metrics`` (``$SCIMHUB_METRICS=1``): then ``/metrics`` answers,
open to whoever reaches it, or with ``--metrics-token`` only to ``Authorization: Bearer
<token>`` (compared in constant time). It is answered before the Host check, as
``/healthz`` is, because Prometheus scrapes by address and the page reflects nothing of the
request; and it is not counted in itself, so an idle server's figures stay still.

Labels are bounded by construction (:mod:`scimhub.server.operations`): the route template,
never the path (no resource id, no filter, nothing a client typed), the SCIM operation and
resource type, the method and the status. Not the tenant: one series per tenant and route
and status multiplies with every tenant signed up, which is what a metric label must not do;
the request log carries the tenant id of every request instead.

With several workers (``--workers N``) each is its own process with its own counters:
``serve`` gives them a fresh directory in ``$PROMETHEUS_MULTIPROC_DIR`` and prometheus_client
keeps every process's values in files there, which ``/metrics`` (whichever worker answers
it) adds up. Only counters and histograms are used, which need no care when a worker dies.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import Receive, Scope, Send

from scimhub.server.environment import METRICS_ENV, METRICS_TOKEN_ENV
from scimhub.server.operations import Operation
from scimhub.store.database import Database

METRICS_PATH: Final = "/metrics"
#: prometheus_client reads this (at import) to keep values in files shared by processes.
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
#: SCIM requests take a few milliseconds; the default buckets start at 5.
BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                  10.0, 30.0)
#: PEP 249's exception classes: a database error is labelled by the one it derives from,
#: so a driver's hundreds of subclasses (psycopg's UndefinedTable...) stay a handful.
_PEP249: Final = ("OperationalError", "IntegrityError", "ProgrammingError", "DataError",
                  "InternalError", "NotSupportedError", "InterfaceError", "DatabaseError")
_SCIM_PREFIX: Final = "/scim/"


class Metrics:
    """The server's series, in a registry of their own (one per application, so that apps
    built in one process, as tests do, never share counts)."""

    def __init__(self, token: str | None = None, *, multiprocess_dir: str | None = None
                 ) -> None:
        # A ``_created`` timestamp beside every counter and histogram doubles the page for
        # what Prometheus (the classic text format) ignores: off, for the whole process.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self._token = token.encode() if token else None
        self._multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        if multiprocess_dir is None:
            ProcessCollector(registry=self.registry)  # not supported across processes
        route_labels = ("method", "route", "operation", "resource_type")
        self.requests = Counter(
            "scimhub_http_requests", "HTTP requests answered, by route template and status.",
            (*route_labels, "status"), registry=self.registry)
        self.duration = Histogram(
            "scimhub_http_request_duration_seconds",
            "Time from a request's arrival to its last byte sent, by route template.",
            route_labels, buckets=BUCKETS, registry=self.registry)
        self.rate_limited = Counter(
            "scimhub_rate_limited_requests",
            "SCIM requests refused with 429 (a tenant over its rate limit).",
            ("operation", "resource_type"), registry=self.registry)
        self.database_errors = Counter(
            "scimhub_database_errors",
            "Database errors no handler expected (answered 500, or the health check failed), "
            "by PEP 249 class.", ("kind",), registry=self.registry)
        # prometheus_client's labels() takes a lock and builds a tuple on each call: the
        # children are kept here, by keys that are as bounded as the labels.
        self._children: dict[tuple[str, Operation, int], tuple[Counter, Histogram]] = {}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Metrics | None:
        """What ``scimhub serve`` set for its workers; None when metrics are off."""
        if environ.get(METRICS_ENV, "").strip().lower() not in ("1", "true", "yes", "on"):
            return None
        return cls(environ.get(METRICS_TOKEN_ENV) or None,
                   multiprocess_dir=environ.get(MULTIPROC_ENV) or None)

    def observe(self, method: str, operation: Operation, status: int, seconds: float) -> None:
        key = (method, operation, status)
        children = self._children.get(key)
        if children is None:
            labels = (method, operation.route, operation.name, operation.resource_type)
            children = (self.requests.labels(*labels, str(status)),
                        self.duration.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if status == 429 and operation.route.startswith(_SCIM_PREFIX):
            self.rate_limited.labels(operation.name, operation.resource_type).inc()

    def database_error(self, db: Database, exc: BaseException) -> bool:
        """Count ``exc`` if the database raised it; whether it did."""
        if not isinstance(exc, db.errors):
            return False
        self.database_errors.labels(database_error_kind(exc)).inc()
        return True

    def exposition(self) -> bytes:
        if self._multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def authorized(self, scope: Scope) -> bool:
        if self._token is None:
            return True
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, given = bytes(value).partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    given.strip(), self._token)
        return False

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer ``GET /metrics``."""
        headers = [(b"cache-control", b"no-store")]
        if scope["method"] not in ("GET", "HEAD"):
            status, body = 405, b"Method Not Allowed\n"
            headers += [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain")]
        elif not self.authorized(scope):
            status, body = 401, b"Unauthorized\n"
            headers += [(b"www-authenticate", b'Bearer realm="scimhub metrics"'),
                        (b"content-type", b"text/plain")]
        else:
            status, body = 200, self.exposition()
            headers.append((b"content-type", CONTENT_TYPE_PLAIN_0_0_4.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else body})


def database_error_kind(exc: BaseException) -> str:
    """The PEP 249 class a database error derives from; SQLAlchemy's wrapper (a connection
    that could not be opened) is read for the driver's error it holds."""
    original = getattr(exc, "orig", None)
    error = original if isinstance(original, BaseException) else exc
    for cls in type(error).__mro__:
        if cls.__name__ in _PEP249:
            return cls.__name__
    return "Error"
