"""A directory exported to a file: JSON ``{"users": [...], "groups": [...]}``, CSV of users, or
JSON Lines (``.jsonl``, one object per line, read as a stream: lines.py).

Objects use Entra's source attribute names (objectId, userPrincipalName, mail,
mailNickname, givenName, surname, mobile, accountEnabled, department,
employeeId, jobTitle, manager, assigned; groups: objectId, displayName,
members, assigned).

``FileSource`` is the ``Source`` (sources/base.py) of ``[source] type = "file"``: a file says
nothing about what changed, so every read is a complete snapshot; its watermark is the file's
modification stamp and size.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from scimhub.engine.errors import SourceError
from scimhub.engine.sources.base import Snapshot, SourceCheck, Watermark
from scimhub.engine.sources.directory import Directory
from scimhub.engine.sources.exported import check_members, checked_id
from scimhub.engine.sources.lines import load_lines
from scimhub.engine.types import SourceObject

_BOOLEAN_COLUMNS = {"accountEnabled", "assigned"}


class FileSource:
    """A JSON or CSV export (``load_file``), read in a thread: a large file takes a second or
    more to parse, and ``scimhub sync`` runs several jobs in one event loop."""

    #: A file holds no history: every read is complete, so the engine keeps no mirror of it
    #: (engine/source_mirror.py) and a 100,000-user file costs no extra storage per cycle.
    keeps_mirror = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)

    async def read(self, since: Watermark | None = None) -> Snapshot:
        """Always complete: a file holds no history to tell a delta from."""
        return await asyncio.to_thread(self._read)

    async def check(self) -> list[SourceCheck]:
        """The file is there and parses; how many users and groups it holds."""
        try:
            snapshot = await self.read(None)
        except SourceError as exc:
            return [SourceCheck("read the file", False, str(exc))]
        d = snapshot.directory
        return [SourceCheck("read the file", True,
                            f"{self.description}: {len(d.users)} users, {len(d.groups)} groups")]

    def _read(self) -> Snapshot:
        # Stamped before reading: a file replaced meanwhile gets a stale watermark (read
        # again next time), never one that claims a content it was not read with.
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such file") from None
        return Snapshot(load_file(self.path), f"{stat.st_mtime_ns}:{stat.st_size}")


def load_file(path: Path) -> Directory:
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        return _from_users(path, _csv_rows(path), [])
    if path.suffix.lower() == ".jsonl":  # streamed: the objects stay on disk (lines.py)
        return load_lines(path)
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SourceError(f'{path}: expected an object {{"users": [...], "groups": [...]}}')
    users, groups = data.get("users", []), data.get("groups", [])
    if not isinstance(users, list) or not isinstance(groups, list):
        raise SourceError(f"{path}: 'users' and 'groups' must be arrays")
    return _from_users(path, ((f"users[{i}]", u) for i, u in enumerate(users)),
                       [(f"groups[{i}]", g) for i, g in enumerate(groups)])


def _csv_rows(path: Path) -> Iterable[tuple[str, SourceObject]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "objectId" not in reader.fieldnames:
            raise SourceError(f"{path}: line 1: the header needs an objectId column")
        for row in reader:
            yield f"line {reader.line_num}", _csv_values(row)


def _csv_values(row: dict[str, str | None]) -> SourceObject:
    values: SourceObject = {}
    for key, text in row.items():
        if key is None or text is None or text == "":
            continue
        values[key] = text.strip().lower() == "true" if key in _BOOLEAN_COLUMNS else text
    return values


def _from_users(path: Path, users: Iterable[tuple[str, Any]],
                groups: list[tuple[str, Any]]) -> Directory:
    directory = Directory()
    for where, obj in users:
        directory.users[checked_id(path, where, obj, directory.users)] = obj
    for where, obj in groups:
        gid = checked_id(path, where, obj, directory.groups)
        check_members(path, where, gid, obj)
        directory.groups[gid] = obj
    return directory
