"""A fault-injecting HTTP proxy for tests: between the engine and a real scimhub server, it
answers a share of requests with 429 + Retry-After, 500, a dropped connection or a stall."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

from aiohttp import ClientSession, web

FAULTS = ("429", "500", "drop", "stall")


async def _session() -> ClientSession:
    return ClientSession()  # created on the proxy's loop, where it will be used


class FaultProxy:
    def __init__(self, upstream: str, port: int, rate: float = 0.2, stall: float = 15.0,
                 seed: int = 7) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = port
        self.rate = rate
        self.stall = stall
        self.random = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.forwarded = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._session = self._loop.run_until_complete(_session())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._session.close())
        self._loop.run_until_complete(runner.cleanup())

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path != "/healthz" and self.random.random() < self.rate:
            fault = self.random.choice(FAULTS)
            self.injected[fault] += 1
            if fault == "429":
                return web.Response(status=429, headers={"Retry-After": "1"})
            if fault == "500":
                return web.Response(status=500, text="injected")
            if fault == "stall":
                await asyncio.sleep(self.stall)
            assert request.transport is not None
            request.transport.close()  # a dropped connection, before forwarding
            return web.Response(status=500)
        self.forwarded += 1
        body = await request.read()
        async with self._session.request(request.method, self.upstream + str(request.rel_url),
                                         data=body or None, headers={
                                             k: v for k, v in request.headers.items()
                                             if k.lower() not in ("host", "content-length")}
                                         ) as upstream:
            payload = await upstream.read()
            headers = {k: v for k, v in upstream.headers.items()
                       if k.lower() in ("content-type", "etag", "location", "retry-after")}
            return web.Response(status=upstream.status, body=payload, headers=headers)
