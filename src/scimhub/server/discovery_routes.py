"""``/ServiceProviderConfig``, ``/Schemas`` and ``/ResourceTypes``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.scim.discovery import (
    resource_type_documents,
    schema_documents,
    service_provider_config,
)
from scimhub.scim.errors import InvalidFilter, NotFound
from scimhub.scim.types import LIST_RESPONSE, Document
from scimhub.server.context import AppContext
from scimhub.server.hosts import tenant_url as base_url
from scimhub.server.responses import ScimResponse


def _list(items: list[Document]) -> ScimResponse:
    return ScimResponse({
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "itemsPerPage": len(items),
        "startIndex": 1,
        "Resources": items,
    })


def discovery_routes(ctx: AppContext) -> list[Route]:
    async def config(request: Request) -> Response:
        await ctx.tenant(request)
        return ScimResponse(service_provider_config(base_url(request), ctx.limits))

    def collection(documents: Any, kind: str) -> tuple[Any, Any]:
        """``documents(base_url, tenant_schemas)``: each tenant sees its own extensions
        (store/schemas.py), and no other tenant's."""
        async def many(request: Request) -> Response:
            tenant = await ctx.tenant(request)
            if request.query_params.get("filter"):
                # RFC 7644 §4: filtering of these endpoints is not supported.
                raise InvalidFilter(f"Filtering /{kind} is not supported")
            schemas = await ctx.tenant_schemas(request, tenant)
            return _list(documents(base_url(request), schemas))

        async def one(request: Request) -> Response:
            tenant = await ctx.tenant(request)
            schemas = await ctx.tenant_schemas(request, tenant)
            wanted = request.path_params["id"].lower()
            for doc in documents(base_url(request), schemas):
                if doc["id"].lower() == wanted:
                    return ScimResponse(doc)
            raise NotFound(f"No {kind} entry '{request.path_params['id']}'")

        return many, one

    schemas_many, schemas_one = collection(schema_documents, "Schemas")
    types_many, types_one = collection(resource_type_documents, "ResourceTypes")
    return [
        Route("/ServiceProviderConfig", config, methods=["GET"]),
        Route("/Schemas", schemas_many, methods=["GET"]),
        Route("/Schemas/{id:path}", schemas_one, methods=["GET"]),
        Route("/ResourceTypes", types_many, methods=["GET"]),
        Route("/ResourceTypes/{id}", types_one, methods=["GET"]),
    ]
