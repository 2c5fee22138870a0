"""The engine's HTTP transport: httpx's client API over aiohttp's connection handling.

Why: at 100,000 users the engine, not the target, bounded the initial cycle, and most of its
CPU per request went to httpcore (per-request socket liveness checks, pure-Python HTTP/1.1
framing, two socket writes per request). aiohttp parses and frames in C. ``client.py`` keeps
httpx's request and response types and its exception tree, so every rule about what may be
resent stays in one place; this module only translates aiohttp's outcomes into httpx's, with
the distinction ``client.py`` relies on: a failure to connect (``httpx.ConnectError``,
``ConnectTimeout``) proves the request never left, anything after it may have been processed.

Bodies travel as they came (``auto_decompress`` off): httpx decodes a ``Content-Encoding``
itself, so the answer reads the same as over httpcore.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import httpx
from yarl import URL

#: Request headers aiohttp writes itself (from the URL and the body).
_OWN_HEADERS = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` sending over one ``aiohttp.ClientSession``.

    The session is opened on the first request (it belongs to the running event loop) and
    keeps at most ``connections`` connections alive, as httpx's ``Limits`` did.
    """

    def __init__(self, *, connections: int, verify: ssl.SSLContext | bool = True) -> None:
        self.connections = connections
        self.verify = verify
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connections, ssl=self.verify,
                                             keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept",
                                   "Content-Type"))
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        headers = [(k.decode("latin-1"), v.decode("latin-1"))
                   for k, v in request.headers.raw if k.lower() not in _OWN_HEADERS]
        timeout = _timeout(request.extensions.get("timeout"))
        # As httpx encoded it, byte for byte: yarl would otherwise re-quote the query (``%40``
        # sent as ``@``), and a target sees the very request the client built.
        url = URL(str(request.url), encoded=True)
        try:
            async with session.request(request.method, url, headers=headers,
                                       data=request.content or None, allow_redirects=False,
                                       timeout=timeout, compress=None) as answer:
                content = await answer.read()
                raw = [(k.decode("latin-1"), v.decode("latin-1"))
                       for k, v in answer.raw_headers]
                status = answer.status
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS: never sent
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(str(exc) or "server disconnected",
                                            request=request) from exc
        except aiohttp.InvalidURL as exc:
            raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        return httpx.Response(status, headers=raw, content=content, request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _timeout(spec: Any) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts (connect, read, write, pool) as aiohttp's."""
    if not isinstance(spec, dict):
        return aiohttp.ClientTimeout()
    connect, read = spec.get("connect"), spec.get("read")
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, connect=connect,
                                 sock_read=read)


__all__ = ["AiohttpTransport"]
