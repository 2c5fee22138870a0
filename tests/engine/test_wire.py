"""The engine's aiohttp transport (engine/target/wire.py), against a raw socket server that
answers exactly as each test scripts it: what goes out, and how every way a request can end
becomes the httpx outcome ``client.py`` decides retries with (never sent vs. maybe processed)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import Awaitable, Callable

import httpx
import pytest

from scimhub.engine.errors import AnswerLost
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.target.retry import RetryPolicy
from scimhub.engine.target.wire import AiohttpTransport
from tests.e2e.server import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ONE_TRY = RetryPolicy(max_attempts=1)


async def _request(reader: asyncio.StreamReader) -> bytes:
    """One request: its head and its body (by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return head + (await reader.readexactly(length) if length else b"")


def _answer(status: int, body: bytes, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return (f"HTTP/1.1 {status} X\r\nContent-Type: application/scim+json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _serve(handler: Handler, scenario: Callable[[str], Awaitable[None]]) -> None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await scenario(f"http://127.0.0.1:{port}/scim/v2")
    finally:
        server.close()


def test_a_request_goes_out_once_with_its_headers_and_body() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _request(reader))
        writer.write(_answer(201, b'{"id": "u1", "userName": "a"}'))
        await writer.drain()
        writer.close()

    async def scenario(url: str) -> None:
        async with ScimTarget(url, "s3cret", policy=ONE_TRY) as target:
            created = await target.create("Users", {"userName": "a"})
            assert created["id"] == "u1"

    asyncio.run(_serve(handler, scenario))
    [raw] = seen
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [line.lower() for line in head.split(b"\r\n")]
    assert lines[0] == b"post /scim/v2/users http/1.1"
    assert b"authorization: bearer s3cret" in lines
    assert b"content-type: application/scim+json" in lines
    assert sum(line.startswith(b"host:") for line in lines) == 1
    assert body == b'{"userName":"a"}'


def test_a_compressed_answer_is_decoded_once() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        writer.write(_answer(200, gzip.compress(b'{"id": "u1"}'), "Content-Encoding: gzip"))
        await writer.drain()
        writer.close()

    async def scenario(url: str) -> None:
        async with ScimTarget(url, "t", policy=ONE_TRY) as target:
            assert await target.get("Users", "u1") == {"id": "u1"}

    asyncio.run(_serve(handler, scenario))


def test_a_refused_connection_was_never_sent() -> None:
    """ConnectError: the one failure ``client.py`` may resend a create after."""
    async def scenario() -> None:
        transport = AiohttpTransport(connections=1)
        try:
            with pytest.raises(httpx.ConnectError):
                await transport.handle_async_request(
                    httpx.Request("POST", f"http://127.0.0.1:{free_port()}/Users", content=b"{}"))
        finally:
            await transport.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("how", ["close", "half", "silence"])
def test_a_create_whose_answer_never_comes_is_an_answer_lost(how: str) -> None:
    """The request left: closed before any answer, cut mid-answer, or no answer in time are
    each a possibly processed create, never a blind resend."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        if how == "half":
            writer.write(_answer(201, b'{"id": "u1", "userName": "a"}')[:-10])
            await writer.drain()
        elif how == "silence":
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(2)
        writer.close()

    async def scenario(url: str) -> None:
        async with ScimTarget(url, "t", policy=ONE_TRY, timeout=0.5) as target:
            with pytest.raises(AnswerLost) as lost:
                await target.create_or_find("Users", {"userName": "a"}, [])
            assert lost.value.code == ("Timeout" if how == "silence"
                                       else "WebExceptionProtocolError")

    asyncio.run(_serve(handler, scenario))


def test_a_query_goes_out_as_encoded() -> None:
    """``%40`` and ``%2B`` stay as the client encoded them (yarl would send ``@``): a target,
    and the tests' recording proxies, see the query Entra's client sends."""
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _request(reader))
        writer.write(_answer(200, b'{"totalResults": 0, "Resources": []}'))
        await writer.drain()
        writer.close()

    async def scenario(url: str) -> None:
        async with ScimTarget(url, "t", policy=ONE_TRY) as target:
            assert await target.find("Users", "userName", "a+b@contoso.example") is None

    asyncio.run(_serve(handler, scenario))
    assert seen[0].split(b"\r\n")[0] == (b"GET /scim/v2/Users?filter=userName+eq+"
                                         b"%22a%2Bb%40contoso.example%22 HTTP/1.1")
