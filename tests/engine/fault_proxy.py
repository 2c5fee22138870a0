"""A fault-injecting HTTP proxy for tests, between the engine and a real SCIM target.

Faults before forwarding (the target never sees the request): ``429`` with Retry-After,
``500``, ``drop`` (the connection closed) and ``stall`` (a wait, then a drop). Faults after
forwarding (the target did the work, the engine never hears of it): ``lost`` (the connection
closed once the target answered) and ``504`` (a gateway's timeout answer after forwarding).
Only the second kind can make a blind retry of a create produce a second object, which is why
``posts`` counts the creates that reached the target, by the name they created.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter

from aiohttp import ClientSession, web

from tests.engine.threaded_server import ThreadedServer

BEFORE = ("429", "500", "drop", "stall")
AFTER = ("lost", "504")
FAULTS = BEFORE + AFTER


async def _session() -> ClientSession:
    return ClientSession()  # created on the proxy's loop, where it will be used


class FaultProxy(ThreadedServer):
    """``rate`` of the requests get one of ``faults``. ``cap`` bounds how often one request
    (method, URL and body) is faulted, so every request is answered in the end and a test
    about lost answers is not also a test of exhausted retries. ``script`` lists faults for
    the first requests whose method and resource type match, before any random one:
    ``[("POST", "Users", "lost"), ("PATCH", "Groups", "504")]``."""

    def __init__(self, upstream: str, port: int, rate: float = 0.2, stall: float = 15.0,
                 seed: int = 7, faults: tuple[str, ...] = FAULTS, cap: int | None = None,
                 script: list[tuple[str, str, str]] | None = None) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}")
        super().__init__(port)
        self.upstream = upstream.rstrip("/")
        self.rate = rate
        self.stall = stall
        self.faults = faults
        self.cap = cap
        self.script = list(script or [])
        self.random = random.Random(seed)
        self.injected: Counter[str] = Counter()
        #: faults by (method, resource type, fault), e.g. ("POST", "Users", "lost")
        self.injected_on: Counter[tuple[str, str, str]] = Counter()
        self.forwarded = 0
        #: POSTs that reached the target, by "Users:<userName>" or "Groups:<displayName>"
        self.posts: Counter[str] = Counter()
        #: what the target answered, by (method, resource type, status)
        self.answers: Counter[tuple[str, str, int]] = Counter()
        self._faulted: Counter[tuple[str, str, bytes]] = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def application(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def started(self) -> None:
        self._session = await _session()

    async def stopping(self) -> None:
        await self._session.close()

    def _choose(self, request: web.Request, body: bytes) -> str | None:
        for i, (method, kind, fault) in enumerate(self.script):
            if request.method == method and _kind(request.path) == kind:
                del self.script[i]
                return fault
        if request.path.endswith("/healthz") or self.random.random() >= self.rate:
            return None
        key = (request.method, str(request.rel_url), body)
        if self.cap is not None and self._faulted[key] >= self.cap:
            return None
        self._faulted[key] += 1
        return self.random.choice(self.faults)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        fault = self._choose(request, body)
        if fault is not None:
            self.injected[fault] += 1
            self.injected_on[(request.method, _kind(request.path), fault)] += 1
        if fault == "429":
            return web.Response(status=429, headers={"Retry-After": "1"})
        if fault == "500":
            return web.Response(status=500, text="injected")
        if fault in ("drop", "stall"):
            if fault == "stall":
                await asyncio.sleep(self.stall)
            return _drop(request)  # before forwarding: the target never saw it
        status, payload, headers = await self._forward(request, body)
        if fault == "lost":
            return _drop(request)  # after forwarding: the target did the work
        if fault == "504":
            return web.Response(status=504, text="upstream request timeout (injected)")
        return web.Response(status=status, body=payload, headers=headers)

    async def _forward(self, request: web.Request,
                       body: bytes) -> tuple[int, bytes, dict[str, str]]:
        self.forwarded += 1
        kind = _kind(request.path)
        if request.method == "POST" and kind in ("Users", "Groups"):
            self.posts[_created_name(kind, body)] += 1
        async with self._session.request(request.method, self.upstream + str(request.rel_url),
                                         data=body or None, headers={
                                             k: v for k, v in request.headers.items()
                                             if k.lower() not in ("host", "content-length")}
                                         ) as upstream:
            payload = await upstream.read()
            self.answers[(request.method, kind, upstream.status)] += 1
            headers = {k: v for k, v in upstream.headers.items()
                       if k.lower() in ("content-type", "etag", "location", "retry-after")}
            return upstream.status, payload, headers


def _drop(request: web.Request) -> web.Response:
    assert request.transport is not None
    request.transport.close()
    return web.Response(status=500)  # never reaches the client: the connection is closed


def _kind(path: str) -> str:
    """``Users`` or ``Groups`` for any path under them, else the last path segment."""
    parts = [p for p in path.split("/") if p]
    for kind in ("Users", "Groups"):
        if kind in parts:
            return kind
    return parts[-1] if parts else ""


def _created_name(kind: str, body: bytes) -> str:
    try:
        resource = json.loads(body)
    except ValueError:
        return f"{kind}:?"
    name = resource.get("userName" if kind == "Users" else "displayName", "?")
    return f"{kind}:{str(name).lower() if kind == 'Users' else name}"
