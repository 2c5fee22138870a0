"""Recording every SCIM write in the audit log, as an ASGI middleware around ``/scim/v2``.

After the response has gone out, a POST, PUT, PATCH or DELETE whose bearer
token named a tenant (``AppContext.tenant`` leaves it in ``scope["state"]``)
becomes one audit row: one prepared INSERT, written by the process's audit
thread in a transaction shared with the writes that finished within the same
few milliseconds rather than a transaction of its own, and never in the
request's way. A failure to record is logged and never
reaches the SCIM client.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import re
import threading
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
    """Write-behind, in batches, on one long-lived thread of the process.

    ``add`` only puts the entry on a queue (no thread woken while writes keep coming): the
    request's task pays about a microsecond. The thread takes what arrived within
    :data:`LINGER_SECONDS` and writes it in one transaction. A thread pool per batch
    (``run_in_executor``) cost the event loop ~200 µs per SCIM write in
    ``ThreadPoolExecutor.submit`` and the GIL hand-over it forced. Writing the row in the
    SCIM write's own transaction was not chosen: the row records what the client was
    answered (status, duration, an error's detail), known only after that transaction
    ended, and a failed write (a 409, a 400) rolls its transaction back.

    Like any record made after the response, an entry is lost if the process dies in that
    instant (a clean exit writes what is queued); the SCIM write it describes is not.
    """

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def add(self, tenant: TenantId, entry: AuditEntry) -> None:
        _RECORDER.put((self.store, tenant, entry))


#: How long the audit thread gathers entries after the first before writing them: a
#: transaction per ~20 ms at most, whatever the write rate, and a row visible within it.
LINGER_SECONDS = 0.02
#: At most this many rows per transaction, so that no batch holds SQLite's write lock long.
MAX_BATCH = 500

_Item = tuple[AuditStore, TenantId, AuditEntry]


class _Recorder:
    """The process's audit thread and its queue; started at the first entry (and again in a
    forked child, which inherits the queue but not the thread)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Item | threading.Event] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, item: _Item) -> None:
        if self._thread is None:
            self._start()
        self._queue.put(item)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what was added before this call is written (or failed and logged);
        False if that took longer than ``timeout``. For a clean exit, and for tests."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="scimhub-audit",
                                                daemon=True)
                self._thread.start()

    def _forked(self) -> None:
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._lock = threading.Lock()

    def _run(self) -> None:
        """While writes keep coming, look at the queue every ``LINGER_SECONDS`` without
        blocking on it, so that ``put`` wakes no thread (waking one cost the event loop a
        system call and the GIL per batch); block on it only once it was found empty."""
        pending: list[_Item | threading.Event] = [self._queue.get()]
        while True:
            if not any(isinstance(item, threading.Event) for item in pending):
                time.sleep(LINGER_SECONDS)
            while len(pending) < MAX_BATCH:
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not pending:
                pending.append(self._queue.get())  # idle: wait for the next write
                continue
            _record([item for item in pending if isinstance(item, tuple)])
            for item in pending:
                if isinstance(item, threading.Event):
                    item.set()
            pending = []


def _record(items: list[_Item]) -> None:
    """One transaction per store (one per database in practice); a failure is logged."""
    by_store: dict[int, tuple[AuditStore, list[tuple[TenantId, AuditEntry]]]] = {}
    for store, tenant, entry in items:
        by_store.setdefault(id(store), (store, []))[1].append((tenant, entry))
    for store, batch in by_store.values():
        try:
            store.record(batch)
        except Exception:
            log.exception("could not record %d SCIM write(s) in the audit log: %s",
                          len(batch), ", ".join(f"{e.method} {e.path}" for _, e in batch))


_RECORDER = _Recorder()
os.register_at_fork(after_in_child=_RECORDER._forked)
# A clean exit writes what is queued (atexit runs before daemon threads are stopped).
atexit.register(_RECORDER.flush, 5.0)


def flush(timeout: float = 10.0) -> bool:
    """Wait until every audit entry added so far is written; False past ``timeout``."""
    return _RECORDER.flush(timeout)


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


def audit_middleware(store: AuditStore) -> Middleware:
    return Middleware(AuditMiddleware, writer=AuditWriter(store))
