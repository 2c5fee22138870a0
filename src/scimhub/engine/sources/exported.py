"""What each object of a file export must hold, whatever the file's form (JSON, CSV, JSON
Lines): checked once here, so that every form refuses the same bad input with the same
message, naming where in the file it is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scimhub.engine.errors import SourceError
from scimhub.engine.types import SourceObject


def checked_id(path: Path, where: str, obj: Any, seen: Mapping[str, SourceObject]) -> str:
    """The object's ``objectId``, present and not among those ``seen`` already."""
    if not isinstance(obj, dict):
        raise SourceError(f"{path}: {where}: expected an object")
    oid = obj.get("objectId")
    if not isinstance(oid, str) or not oid:
        raise SourceError(f"{path}: {where}: objectId is missing")
    if oid in seen:
        raise SourceError(f"{path}: {where}: objectId {oid} appears twice")
    return oid


def check_members(path: Path, where: str, gid: str, group: dict[str, Any]) -> None:
    """A group's ``members``, when given, is an array of objectIds."""
    members = group.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise SourceError(f"{path}: {where} ({gid}): 'members' must be an array of objectIds")
