"""List and search queries (RFC 7644 §3.4.2, §3.4.3): parsed once, for any endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from scimhub.scim.errors import InvalidSyntax, InvalidValue
from scimhub.scim.filters import Filter
from scimhub.scim.limits import Limits
from scimhub.scim.paths import AttrPath
from scimhub.scim.types import LIST_RESPONSE, SEARCH_REQUEST, Document, Resource
from scimhub.server.requests import (
    filter_param,
    int_param,
    paths_param,
    read_json,
    sort_param,
)
from scimhub.server.responses import ScimResponse


@dataclass(frozen=True)
class Query:
    filter: Filter | None
    sort_by: AttrPath | None
    descending: bool
    start: int
    count: int
    attributes: list[AttrPath]
    excluded: list[AttrPath]
    #: RFC 9865: None for index paging, "" for the first cursor page, else a cursor.
    cursor: str | None = None


def parse_query(params: Document, limits: Limits) -> Query:
    """From query parameters (GET) or a SearchRequest body (POST .search).

    ``startIndex`` below 1 means 1 and ``count`` below 0 means 0 (RFC 7644
    §3.4.2.4); a count above ``maxResults`` is cut to it.
    """
    order = params.get("sortOrder") or "ascending"
    if not isinstance(order, str) or order.lower() not in ("ascending", "descending"):
        raise InvalidValue("'sortOrder' must be 'ascending' or 'descending'")
    count = int_param(params.get("count"), "count", limits.default_count)
    cursor = params.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise InvalidValue("'cursor' must be a string")
    if cursor is not None and params.get("startIndex") not in (None, ""):
        raise InvalidValue("Use either 'cursor' or 'startIndex', not both (RFC 9865 §2)")
    return Query(
        filter=filter_param(params.get("filter"), limits),
        sort_by=sort_param(params.get("sortBy")),
        descending=order.lower() == "descending",
        start=max(1, int_param(params.get("startIndex"), "startIndex", 1)),
        count=min(max(0, count), limits.max_results),
        attributes=paths_param(params.get("attributes")),
        excluded=paths_param(params.get("excludedAttributes")),
        cursor=cursor,
    )


async def read_search_request(request: Request, limits: Limits) -> Document:
    body = await read_json(request, limits)
    if not isinstance(body, dict):
        raise InvalidSyntax("A SearchRequest must be a JSON object")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST not in schemas):
        raise InvalidSyntax(f"'schemas' must be [\"{SEARCH_REQUEST}\"]")
    return body


def list_response(total: int, start: int, resources: list[Resource]) -> ScimResponse:
    return ScimResponse({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    })


def cursor_response(total: int, resources: list[Resource], next_cursor: str | None
                    ) -> ScimResponse:
    """RFC 9865 §2.2: ``nextCursor`` only while more results follow."""
    body: Document = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
    if next_cursor is not None:
        body["nextCursor"] = next_cursor
    return ScimResponse(body)
