"""Reading SCIM requests: bodies, query parameters and preconditions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request

from scimhub.scim.errors import (
    InvalidFilter,
    InvalidSyntax,
    InvalidValue,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from scimhub.scim.filter_parser import parse_attr_path, parse_filter
from scimhub.scim.filters import Filter
from scimhub.scim.limits import Limits
from scimhub.scim.paths import AttrPath

_JSON_TYPES = ("application/scim+json", "application/json")


async def read_json(request: Request, limits: Limits) -> Any:
    """The request body as JSON; 415, 413 and 400 are SCIM errors."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type must be application/scim+json or application/json, not {media!r}"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise PayloadTooLarge(f"The body exceeds {limits.max_body_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_body_bytes:
            raise PayloadTooLarge(f"The body exceeds {limits.max_body_bytes} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidSyntax(f"The body is not valid JSON: {exc}") from None


def paths_param(value: str | list[str] | None) -> list[AttrPath]:
    """``attributes`` / ``excludedAttributes``: comma-separated (GET) or an array (.search)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not all(isinstance(i, str) for i in items):
        raise InvalidValue("attribute lists must be strings")
    return [parse_attr_path(i.strip()) for i in items if i.strip()]


def filter_param(value: object, limits: Limits) -> Filter | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidFilter("'filter' must be a string")
    return parse_filter(value, max_depth=limits.max_filter_depth,
                        max_length=limits.max_filter_length)


def int_param(value: object, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise InvalidValue(f"'{name}' must be an integer")


def _etag_versions(header: str) -> set[int] | None:
    """The versions named by an If-Match/If-None-Match header; None for ``*``."""
    versions: set[int] = set()
    for part in header.split(","):
        tag = part.strip()
        if tag == "*":
            return None
        tag = tag.removeprefix("W/").strip('"')
        if tag.isdigit():
            versions.add(int(tag))
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
