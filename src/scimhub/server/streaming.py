"""Streaming a group with all its members, so that 100,000 of them never sit in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import orjson
from starlette.responses import StreamingResponse

from scimhub.scim.render import Reference, StoredResource, etag, reference_item, render
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP
from scimhub.scim.types import TenantId
from scimhub.server.context import AppContext
from scimhub.server.responses import SCIM_JSON


def stream_group(ctx: AppContext, tenant: TenantId, stored: StoredResource, base: str,
                 rtype: ResourceType = GROUP) -> StreamingResponse:
    """The group document with ``members`` written batch by batch between its other keys;
    ``rtype`` is the tenant's Group type (its extensions name the ``schemas``)."""
    doc = render(stored, rtype, base)
    meta = doc.pop("meta")
    batches = ctx.resources.stream_members(tenant, stored.id)

    async def body() -> AsyncIterator[bytes]:
        yield orjson.dumps(doc)[:-1] + b',"members":['
        first = True
        while (batch := await ctx.run(lambda: _next(batches))) is not None:
            chunk = b",".join(orjson.dumps(reference_item(r, base, "members")) for r in batch)
            yield chunk if first else b"," + chunk
            first = False
        yield b'],"meta":' + orjson.dumps(meta) + b"}"

    return StreamingResponse(body(), media_type=SCIM_JSON,
                             headers={"ETag": etag(stored.version)})


def _next(batches: Iterator[list[Reference]]) -> list[Reference] | None:
    return next(batches, None)
