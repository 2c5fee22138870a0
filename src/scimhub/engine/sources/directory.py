"""What every source yields: the directory's users and groups, keyed by objectId."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from scimhub.engine.errors import SourceError as SourceError  # re-exported: its old home
from scimhub.engine.types import SourceObject


@dataclass
class Directory:
    """Users and groups by objectId: plain dicts, or a ``LineIndex`` (lines.py) that keeps a
    large export on disk and parses an object each time it is read (so never change an object
    in place: set it again)."""

    users: MutableMapping[str, SourceObject] = field(default_factory=dict)
    groups: MutableMapping[str, SourceObject] = field(default_factory=dict)

    def assigned_users(self) -> set[str]:
        """Users assigned directly or through an assigned group (direct members only)."""
        assigned = {uid for uid, u in self.users.items() if u.get("assigned") is True}
        for group in self.groups.values():
            if group.get("assigned") is True:
                assigned.update(m for m in group.get("members", []) if m in self.users)
        return assigned
