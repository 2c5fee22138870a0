"""A proxy between the engine and a real scimhub target that records every request and can
play another writer or a target that refuses the user listing (tests of matching by listing).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.engine.fault_proxy import FaultProxy


class ListingProxy(FaultProxy):
    """Forwards everything (no random fault) and records ``(method, path?query)``.

    ``refuse_listing``: a ``GET /Users?attributes=…`` is answered with that status instead.
    ``writer``: user bodies another writer creates on the target, straight, as soon as the
    first ``POST /Users`` arrives (after the engine read its listing, before its creates land).
    ``pagination``: what ``/ServiceProviderConfig`` advertises instead (e.g. a small
    ``maxPageSize``, ``cursor`` false). ``during_listing``: a user another writer creates
    while the listing is read (before its second page). ``rename``: the new userName another
    writer gives the first user the engine reads by id, just before that read.
    """

    def __init__(self, upstream: str, port: int, *, refuse_listing: int | None = None,
                 writer: list[dict[str, Any]] | None = None,
                 pagination: dict[str, Any] | None = None,
                 during_listing: dict[str, Any] | None = None,
                 rename: str | None = None) -> None:
        super().__init__(upstream, port, rate=0.0)
        self.refuse_listing = refuse_listing
        self.writer = list(writer or [])
        self.seen: list[tuple[str, str]] = []
        self.written: list[int] = []
        self.pagination = pagination
        self.during_listing = during_listing
        self.rename = rename
        self._writing = asyncio.Lock()

    def requests(self, method: str, contains: str) -> list[str]:
        return [url for m, url in self.seen if m == method and contains in url]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        url = str(request.rel_url)
        self.seen.append((request.method, url))
        listing = request.method == "GET" and "/Users?" in url and "attributes=" in url
        if listing and self.refuse_listing is not None:
            return web.json_response(
                {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                 "status": str(self.refuse_listing), "detail": "listing refused (test)"},
                status=self.refuse_listing)
        if listing and self.during_listing is not None and (
                "startIndex=1&" not in url + "&" and "cursor=&" not in url + "&"):
            body, self.during_listing = self.during_listing, None
            await self._create(url.split("?")[0], request.headers["Authorization"], body)
        if request.method == "GET" and url.endswith("/ServiceProviderConfig") \
                and self.pagination is not None:
            return await self._advertise(request)
        if request.method == "GET" and "/Users/" in url and self.rename is not None:
            new, self.rename = self.rename, None
            patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "replace", "path": "userName", "value": new}]}
            async with self._session.patch(
                    self.upstream + url, data=json.dumps(patch),
                    headers={"Authorization": request.headers["Authorization"],
                             "Content-Type": "application/scim+json"}) as renamed:
                self.written.append(renamed.status)
        if request.method == "POST" and url.endswith("/Users"):
            async with self._writing:  # every create waits until the other writer is done
                await self._write(url, request.headers["Authorization"])
        return await super()._handle(request)

    async def _write(self, url: str, authorization: str) -> None:
        writer, self.writer = self.writer, []
        for body in writer:  # the other writer, before the engine's create is forwarded
            await self._create(url, authorization, body)

    async def _create(self, url: str, authorization: str, body: dict[str, Any]) -> None:
        async with self._session.post(
                self.upstream + url, data=json.dumps(body),
                headers={"Authorization": authorization,
                         "Content-Type": "application/scim+json"}) as created:
            self.written.append(created.status)

    async def _advertise(self, request: web.Request) -> web.StreamResponse:
        async with self._session.get(
                self.upstream + str(request.rel_url),
                headers={"Authorization": request.headers["Authorization"]}) as upstream:
            config = await upstream.json(content_type=None)
        config["pagination"] = {**config.get("pagination", {}), **(self.pagination or {})}
        return web.json_response(config, content_type="application/scim+json")
