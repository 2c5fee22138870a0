"""Recording every SCIM write in the audit log, as an ASGI middleware around ``/scim/v2``.

After the response has gone out, a POST, PUT, PATCH or DELETE whose bearer
token named a tenant (``AppContext.tenant`` leaves it in ``scope["state"]``)
becomes one audit row: one prepared INSERT, in a transaction shared with the
writes that finished at the same moment rather than a transaction of its own,
and never in the request's way. A failure to record is logged and never
reaches the SCIM client.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import orjson
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimhub.scim.types import TenantId
from scimhub.store.audit import AuditEntry, AuditStore
from scimhub.store.clock import now

log = logging.getLogger("scimhub.audit")

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RESOURCE = re.compile(r"/(Users|Groups)(?:/([^/]+))?/?$")
#: Error bodies are small; a larger one is not read for its detail.
_MAX_ERROR_BODY = 8192


class _Outcome:
    """What the client was sent: status, Location, and an error's detail."""

    def __init__(self) -> None:
        self.status = 500
        self.location: str | None = None
        self._error_body = bytearray()

    def observe(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            for key, value in message.get("headers", []):
                if key.lower() == b"location":
                    self.location = value.decode("latin-1")
        elif (message["type"] == "http.response.body" and self.status >= 400
              and len(self._error_body) < _MAX_ERROR_BODY):
            self._error_body += message.get("body", b"")

    @property
    def detail(self) -> str | None:
        try:
            body: Any = orjson.loads(bytes(self._error_body))
        except orjson.JSONDecodeError:
            return None
        detail = body.get("detail") if isinstance(body, dict) else None
        return str(detail)[:1000] if detail is not None else None


def describe(method: str, path: str, location: str | None) -> tuple[str | None, str | None]:
    """The resource type and id a write touched: from its path, or a create's Location."""
    found = _RESOURCE.search(path)
    if found is None:
        return None, None
    rtype, rid = found.group(1)[:-1], found.group(2)
    if rid is None and method == "POST" and location:
        rid = location.rstrip("/").rsplit("/", 1)[-1]
    return rtype, rid[:200] if rid else None


class AuditWriter:
    """Write-behind, in batches: entries are written together right after the responses
    that produced them, in a thread (``inline``: on the event loop's next turn), one
    transaction per batch.

    Like any record made after the response, an entry is lost if the process
    dies in that instant; the SCIM write it describes is not.
    """

    def __init__(self, store: AuditStore, inline: bool) -> None:
        self.store = store
        self.inline = inline
        self._pending: list[tuple[TenantId, AuditEntry]] = []
        self._scheduled_on: asyncio.AbstractEventLoop | None = None
        self._writing: asyncio.Future[None] | None = None

    def add(self, tenant: TenantId, entry: AuditEntry) -> None:
        self._pending.append((tenant, entry))
        loop = asyncio.get_running_loop()
        if self._scheduled_on is not loop:
            self._scheduled_on = loop
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled_on = None
        loop, writing = asyncio.get_running_loop(), self._writing
        if not self._pending or (writing is not None and not writing.done()
                                 and writing.get_loop() is loop):
            return  # nothing to do, or the thread still writing will call again
        batch, self._pending = self._pending, []
        if self.inline:
            self._record(batch)
            return
        self._writing = loop.run_in_executor(None, self._record, batch)
        self._writing.add_done_callback(lambda _: self._flush())

    def _record(self, batch: list[tuple[TenantId, AuditEntry]]) -> None:
        try:
            self.store.record(batch)
        except Exception:
            log.exception("could not record %d SCIM write(s) in the audit log: %s",
                          len(batch), ", ".join(f"{e.method} {e.path}" for _, e in batch))


class AuditMiddleware:
    def __init__(self, app: ASGIApp, writer: AuditWriter) -> None:
        self.app = app
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in WRITES
                or scope["path"].endswith("/.search")):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        at, started = now(), time.perf_counter()
        outcome = _Outcome()

        async def observed_send(message: Message) -> None:
            outcome.observe(message)
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            tenant = state.get("tenant")
            # A request refused for the tenant's rate limit wrote nothing; recording each
            # would let a flood write to the audit log at the rate it is refused.
            if tenant is not None and outcome.status != 429:
                self.writer.add(TenantId(tenant), _entry(scope, at, started, outcome))


def _entry(scope: Scope, at: str, started: float, outcome: _Outcome) -> AuditEntry:
    method, path = scope["method"], scope["path"]
    rtype, rid = describe(method, path, outcome.location)
    client = scope.get("client")
    return AuditEntry(
        at=at, method=method, path=path[:2000], resource_type=rtype, resource_id=rid,
        client=str(client[0])[:64] if client else None, status=outcome.status,
        duration_ms=round((time.perf_counter() - started) * 1000),
        detail=outcome.detail if outcome.status >= 400 else None,
    )


def audit_middleware(store: AuditStore, inline: bool) -> Middleware:
    return Middleware(AuditMiddleware, writer=AuditWriter(store, inline))
