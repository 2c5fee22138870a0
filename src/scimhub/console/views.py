"""Turning SCIM documents into what the directory pages show."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from scimhub.scim.paths import AttrPath
from scimhub.scim.projection import apply_projection, make_projection
from scimhub.scim.render import StoredResource, render
from scimhub.scim.schema import ResourceType
from scimhub.scim.schemas import GROUP
from scimhub.scim.types import Document

if TYPE_CHECKING:
    from scimhub.console.context import Console
    from scimhub.console.sessions import Session


@dataclass(frozen=True)
class Attribute:
    name: str
    value: str


def scim_document(stored: StoredResource, rtype: ResourceType, base: str) -> Document:
    """What a SCIM GET returns, without members: the page lists those a page at a time."""
    excluded = [AttrPath("members")] if rtype is GROUP else []
    proj = make_projection(rtype, [], excluded)
    return apply_projection(render(stored, rtype, base), rtype, proj)


def pretty_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)


def attributes(doc: Mapping[str, Any]) -> list[tuple[str, list[Attribute]]]:
    """Sections of (name, value) rows: the core schema first, then each extension."""
    core = [a for key, value in doc.items() if key not in ("schemas", "meta")
            and not key.startswith("urn:") for a in _flatten(key, value)]
    meta = [a for key, value in doc.get("meta", {}).items() for a in _flatten(key, value)]
    sections = [("Attributes", core)]
    sections += [(key, [a for k, v in value.items() for a in _flatten(k, v)])
                 for key, value in doc.items()
                 if key.startswith("urn:") and isinstance(value, dict)]
    sections.append(("Meta", meta))
    return [s for s in sections if s[1]]


def _flatten(name: str, value: Any) -> list[Attribute]:
    if isinstance(value, dict):
        return [a for key, sub in value.items() for a in _flatten(f"{name}.{key}", sub)]
    if isinstance(value, list):
        return [Attribute(name, _element(item)) for item in value] or [Attribute(name, "(none)")]
    return [Attribute(name, _scalar(value))]


def _element(item: Any) -> str:
    """``a@example.com (work, primary)``: the value first, its qualifiers after."""
    if not isinstance(item, dict):
        return _scalar(item)
    main = item.get("value", item.get("display", ""))
    extras = [f"{k}: {_scalar(v)}" for k, v in item.items()
              if k not in ("value", "primary", "$ref") and v not in (None, "")]
    if item.get("primary") is True:
        extras.append("primary")
    return f"{_scalar(main)} ({', '.join(extras)})" if extras else _scalar(main)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def primary_email(doc: Mapping[str, Any]) -> str:
    emails = [e for e in doc.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    chosen = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
    return str(chosen["value"]) if chosen else ""


def bad_request(console: Console, request: Request, session: Session, what: str) -> Response:
    """A 400 page for a query parameter that cannot mean anything (a page number "²")."""
    return console.pages.render(request, "bad_request.html", csrf=session.csrf,
                                signed_in=session, status=400, what=what)
