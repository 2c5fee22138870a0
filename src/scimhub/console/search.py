"""The directory's search box: a SCIM filter when it parses as one, else plain text."""

from __future__ import annotations

from dataclasses import dataclass

from scimhub.scim.errors import InvalidFilter
from scimhub.scim.filter_parser import parse_attr_path, parse_filter
from scimhub.scim.filters import Compare, Filter, Or
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import USER

#: What plain text is looked for in, per resource type.
TEXT_ATTRIBUTES = {
    "User": ("userName", "displayName", "emails.value"),
    "Group": ("displayName",),
}


@dataclass(frozen=True)
class Search:
    filter: Filter | None
    is_scim_filter: bool

    @property
    def described(self) -> str:
        return str(self.filter) if self.filter is not None else ""


def parse_search(text: str, rtype: ResourceType) -> Search:
    """``userName sw "a"`` is a filter; ``alice`` becomes ``userName co "alice" or ...``."""
    text = text.strip()
    if not text:
        return Search(None, False)
    try:
        return Search(parse_filter(text), True)
    except InvalidFilter:
        pass
    node: Filter | None = None
    for name in TEXT_ATTRIBUTES["User" if rtype is USER else "Group"]:
        leaf = Compare(parse_attr_path(name), "co", text)
        node = leaf if node is None else Or(node, leaf)
    return Search(node, False)
