"""Opaque cursors for cursor-based pagination (RFC 9865).

A cursor names the last row of a page by its sort key and id, so the next page
is a keyset query that costs the same at the end of a listing as at its start.
It also carries a fingerprint of the query, so a cursor cannot be replayed
against another filter or sort order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

import orjson

from scimhub.scim.errors import InvalidCursor


@dataclass(frozen=True)
class Cursor:
    key: str | None
    id: str
    fingerprint: str


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(orjson.dumps([str(p) for p in parts])).hexdigest()[:16]


def encode_cursor(cursor: Cursor) -> str:
    raw = orjson.dumps([cursor.key, cursor.id, cursor.fingerprint])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, expected_fingerprint: str) -> Cursor:
    try:
        padded = text + "=" * (-len(text) % 4)
        key, rid, print_ = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidCursor("The cursor is not one this server issued") from None
    if not (isinstance(key, str | None) and isinstance(rid, str) and isinstance(print_, str)):
        raise InvalidCursor("The cursor is not one this server issued")
    if "\x00" in rid or (key is not None and "\x00" in key):
        # Anyone can forge a cursor (the fingerprint is not a secret); no stored value has
        # NUL, and PostgreSQL cannot even compare with one.
        raise InvalidCursor("The cursor is not one this server issued")
    if print_ != expected_fingerprint:
        raise InvalidCursor("The cursor belongs to a different filter or sort order")
    return Cursor(key, rid, print_)
