"""A JSON Lines export read as a stream: one object per line, kept on disk, not in memory.

Why: a directory of a million users parsed into Python dicts takes about 1.5 GB, and the
engine must stay under 1 GB (issue 14). So ``FileSource`` reads a ``.jsonl`` file once, line
by line, and keeps only where each object's line starts (``LineIndex``, about 130 bytes per
object); the cycle parses an object again whenever it looks at it (a few microseconds).

Format: one JSON object per line, blank lines ignored. A line whose ``objectType`` is
``"Group"`` (Azure AD Graph's name for the attribute) is a group; every other line is a user.
The attribute names are the JSON file's (file.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import orjson

from scimhub.engine.errors import SourceError
from scimhub.engine.sources.directory import Directory
from scimhub.engine.sources.exported import check_members, checked_id
from scimhub.engine.types import SourceObject

#: An object's place in the file, as one int: its offset shifted left, its length below.
_LENGTH_BITS = 24


class LineIndex(MutableMapping[str, SourceObject]):
    """Objects by objectId, each parsed from its line of the file when asked for.

    Reads use ``os.pread`` on a descriptor held open, so the file may be replaced on disk
    meanwhile (an export written anew) without the cycle reading half of each. An object
    set in memory (``index[id] = obj``) shadows its line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._where: dict[str, int] = {}
        self._set: dict[str, SourceObject] = {}

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def add(self, oid: str, offset: int, length: int) -> None:
        if length >= 1 << _LENGTH_BITS:
            raise SourceError(f"{self.path}: the line of {oid} is longer than 16 MB")
        self._where[oid] = offset << _LENGTH_BITS | length

    def __getitem__(self, oid: str) -> SourceObject:
        if oid in self._set:
            return self._set[oid]
        where = self._where[oid]
        line = os.pread(self._fd, where & ((1 << _LENGTH_BITS) - 1), where >> _LENGTH_BITS)
        obj: SourceObject = orjson.loads(line)
        return obj

    def __setitem__(self, oid: str, obj: SourceObject) -> None:
        self._set[oid] = obj
        self._where.setdefault(oid, -1)

    def __delitem__(self, oid: str) -> None:
        del self._where[oid]
        self._set.pop(oid, None)

    def __contains__(self, oid: object) -> bool:
        return oid in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


def load_lines(path: Path) -> Directory:
    """Index the file line by line; each line is checked as ``load_file`` checks an object."""
    users, groups = LineIndex(path), LineIndex(path)
    offset = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            length = len(line)
            if line.strip():
                _index(path, number, line, offset, length, users, groups)
            offset += length
    return Directory(users, groups)


def _index(path: Path, number: int, line: bytes, offset: int, length: int,
           users: LineIndex, groups: LineIndex) -> None:
    where = f"line {number}"
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{path}: {where}: not valid JSON: {exc}") from None
    group = isinstance(obj, dict) and obj.get("objectType") == "Group"
    seen = groups if group else users
    oid = checked_id(path, where, obj, seen)
    if group:
        check_members(path, where, oid, obj)
    seen.add(oid, offset, length)


__all__ = ["LineIndex", "load_lines"]
