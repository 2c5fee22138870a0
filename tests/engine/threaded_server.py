"""An aiohttp application served on 127.0.0.1 from a thread of its own.

The engine's tests are synchronous and start the engine as a process; the servers
they put in its way (a fault-injecting proxy, a permissive SCIM target) need an
event loop that keeps running meanwhile, so each runs its loop on its own thread
and is used as a context manager.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Self

from aiohttp import web


class ThreadedServer:
    """Subclasses build their ``application()``; ``started``/``stopping`` are hooks run on
    the server's loop around its life (opening and closing a client session, say)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def application(self) -> web.Application:
        raise NotImplementedError

    async def started(self) -> None:
        """Run on the server's loop once it listens."""

    async def stopping(self) -> None:
        """Run on the server's loop before it stops listening."""

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start on port {self.port}")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        runner = web.AppRunner(self.application())
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._loop.run_until_complete(self.started())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.stopping())
        self._loop.run_until_complete(runner.cleanup())
