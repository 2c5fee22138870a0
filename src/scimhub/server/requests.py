"""Reading SCIM requests: bodies, query parameters and preconditions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

import orjson
from starlette.requests import Request

from scimhub.scim.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from scimhub.scim.filter_parser import parse_attr_path, parse_filter
from scimhub.scim.filters import Filter
from scimhub.scim.limits import Limits
from scimhub.scim.numbers import bounded_int
from scimhub.scim.paths import AttrPath

_JSON_TYPES = ("application/scim+json", "application/json")

#: The range of every integer query or SearchRequest parameter (startIndex, count).
#: Far beyond any real list, and small enough that offsets and limits stay 64-bit
#: integers in SQLite, PostgreSQL and every expression that adds to them.
MAX_INT_PARAM: Final = 2**31 - 1
#: An ETag is ``W/"n"``: a version is at most 18 ASCII digits (it fits in 64 bits).
_ETAG = re.compile(r'(?:W/)?"?([0-9]{1,18})"?', re.ASCII)
NUL: Final = "\x00"


def refuse_nul(value: Any, where: str) -> None:
    """Refuse U+0000 anywhere in a parsed JSON value, in keys as in strings.

    PostgreSQL cannot store NUL in text or jsonb and SQLite can, so without
    this the same request would be a 500 on one database and accepted on the
    other. Iterative, because JSON may nest as deep as the parser allows.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                raise InvalidValue(f"The {where} contains the character U+0000, which is not "
                                   "allowed in any SCIM value")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


async def read_json(request: Request, limits: Limits) -> Any:
    """The request body as JSON; 415, 413 and 400 are SCIM errors."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type must be application/scim+json or application/json, not {media!r}"
        )
    declared = bounded_int(request.headers.get("content-length"), 0, 2**63 - 1)
    if declared is not None and declared > limits.max_body_bytes:
        raise PayloadTooLarge(f"The body exceeds {limits.max_body_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_body_bytes:
            raise PayloadTooLarge(f"The body exceeds {limits.max_body_bytes} bytes")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidSyntax(f"The body is not valid JSON: {exc}") from None
    if b"\\u0000" in body:  # JSON spells NUL only so (a raw one is not valid JSON): else no walk
        refuse_nul(parsed, "body")
    request.state.raw_body = body  # how much work the request may be (server.scim_routes)
    return parsed


def paths_param(value: str | list[str] | None) -> list[AttrPath]:
    """``attributes`` / ``excludedAttributes``: comma-separated (GET) or an array (.search)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidValue("'attributes' and 'excludedAttributes' must be a comma-separated "
                           "string or an array of strings")
    return [parse_attr_path(i.strip()) for i in items if i.strip()]


def sort_param(value: object) -> AttrPath | None:
    """``sortBy``: absent or "" for no sorting, else exactly one attribute path."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip() or "," in value:
        raise InvalidValue("'sortBy' must name one attribute")
    try:
        return parse_attr_path(value)
    except InvalidPath as exc:
        raise InvalidValue(f"'sortBy': {exc.detail}") from None


def filter_param(value: object, limits: Limits) -> Filter | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidFilter("'filter' must be a string")
    return parse_filter(value, max_depth=limits.max_filter_depth,
                        max_length=limits.max_filter_length)


def int_param(value: object, name: str, default: int) -> int:
    """Every integer parameter, from a query string or a JSON body (``bounded_int``).

    Within ±``MAX_INT_PARAM``; anything else is ``400 invalidValue``, never an
    overflow further down.
    """
    if value is None or value == "":
        return default
    number = bounded_int(value, -MAX_INT_PARAM, MAX_INT_PARAM)
    if number is None:
        raise InvalidValue(f"'{name}' must be an integer from {-MAX_INT_PARAM} to "
                           f"{MAX_INT_PARAM}")
    return number


def _etag_versions(header: str) -> set[int] | None:
    """The versions named by an If-Match/If-None-Match header; None for ``*``.

    The one ETag parser: a tag is ``W/"n"`` (or ``"n"``) with at most 18 ASCII
    digits. Any other tag cannot be one this server issued, so it is ignored:
    it matches no version (If-Match fails with 412, If-None-Match passes).
    """
    versions: set[int] = set()
    for part in header.split(","):
        tag = part.strip()
        if tag == "*":
            return None
        found = _ETAG.fullmatch(tag)
        if found is not None:
            versions.add(int(found.group(1)))
    return versions


def precondition(request: Request) -> Callable[[int], bool]:
    """A check of the stored version, run inside the writing transaction.

    ``If-Match`` passes when one of its ETags is the current version;
    ``If-None-Match`` passes when none is (RFC 7232 §3.1, §3.2).
    """
    if_match = request.headers.get("if-match")
    if_none = request.headers.get("if-none-match")
    match_set = _etag_versions(if_match) if if_match is not None else set()
    none_set = _etag_versions(if_none) if if_none is not None else set()

    def check(version: int) -> bool:
        if if_match is not None and match_set is not None and version not in match_set:
            return False
        return not (if_none is not None and (none_set is None or version in none_set))

    return check


def not_modified(request: Request, version: int) -> bool:
    """GET with If-None-Match naming the current version: 304."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    versions = _etag_versions(header)
    return versions is None or version in versions
