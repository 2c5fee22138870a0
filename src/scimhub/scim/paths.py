"""Attribute paths: what a filter compares and what a PATCH operation targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scimhub.scim.filters import Filter


@dataclass(frozen=True)
class AttrPath:
    """``[urn:]attr[.subAttr]`` (RFC 7644 §3.10).

    ``urn`` is the schema URN exactly as written, or None; it is resolved
    against a resource type later, because the grammar alone cannot tell a
    URN from an attribute name.
    """

    attr: str
    sub_attr: str | None = None
    urn: str | None = None

    def __str__(self) -> str:
        text = f"{self.urn}:{self.attr}" if self.urn else self.attr
        return f"{text}.{self.sub_attr}" if self.sub_attr else text


@dataclass(frozen=True)
class PatchPath:
    """``attrPath`` or ``valuePath [ "." subAttr ]`` (RFC 7644 §3.5.2).

    For ``emails[type eq "work"].value``: ``attr`` is ``emails``,
    ``value_filter`` the bracketed filter (its paths are relative to the
    element), and ``sub_attr`` is ``value``. For ``name.givenName`` the
    sub-attribute lives in ``attr.sub_attr`` and ``sub_attr`` is None.
    """

    attr: AttrPath
    value_filter: Filter | None = None
    sub_attr: str | None = None

    def __str__(self) -> str:
        text = str(self.attr)
        if self.value_filter is not None:
            text += f"[{self.value_filter}]"
        if self.sub_attr:
            text += f".{self.sub_attr}"
        return text
