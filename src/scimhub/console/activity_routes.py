"""Activity: the audit log of every SCIM write the tenant received, and (the Console tab) what
the tenant's admins did in the console: sign-ins, lockouts, the token revealed or reset, admins
added and removed, SSO changed, with who, when and from which address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Final, Literal

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimhub.console.context import Console
from scimhub.console.paging import BadPage, Pager
from scimhub.console.sessions import Session, signed_in
from scimhub.console.views import bad_request
from scimhub.scim.resource import format_datetime
from scimhub.store.audit import AuditEntry, AuditPage, AuditQuery
from scimhub.store.events import ACTION_LABELS, ConsoleEvent

PAGE_SIZE = 50
#: The SCIM writes the audit log records, as the Activity page names them.
OPERATIONS: Final[dict[str, str]] = {"POST": "Create", "PUT": "Replace", "PATCH": "Update",
                                     "DELETE": "Delete"}
#: The resource types a write can touch (``AuditEntry.resource_type``); the page's filter.
AuditedType = Literal["User", "Group"]
RESOURCE_TYPES: Final[tuple[AuditedType, ...]] = ("User", "Group")


@dataclass(frozen=True)
class ActivityRow:
    entry: AuditEntry
    #: The resource's current name; None once it is deleted.
    name: str | None = None

    @property
    def when(self) -> str:
        return self.entry.at[:19].replace("T", " ") + " UTC"

    @property
    def operation(self) -> str:
        return OPERATIONS.get(self.entry.method, self.entry.method)

    @property
    def ok(self) -> bool:
        return self.entry.status < 400

    @property
    def result(self) -> str:
        try:
            phrase = HTTPStatus(self.entry.status).phrase
        except ValueError:
            phrase = ""
        return f"{self.entry.status} {phrase}".strip()

    @property
    def link(self) -> str | None:
        e = self.entry
        if not e.resource_id or e.resource_type not in RESOURCE_TYPES:
            return None
        return f"/{e.resource_type.lower()}s/{e.resource_id}"


def _instant(text: str | None, *, end: bool = False) -> str | None:
    """A ``datetime-local`` value, read as UTC; an end includes its whole minute."""
    if not text:
        return None
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return format_datetime(moment + timedelta(minutes=1) if end else moment)


def read_query(q: QueryParams) -> tuple[AuditQuery, str | None]:
    rtype = q.get("type") if q.get("type") in RESOURCE_TYPES else None
    try:
        since, until = _instant(q.get("from")), _instant(q.get("to"), end=True)
    except (ValueError, OverflowError):  # not a date; or 9999-12-31T23:59, whose end overflows
        return AuditQuery(rtype, q.get("resource", "").strip() or None), \
            "From and To must be dates and times (UTC), such as 2025-01-31T09:30."
    return AuditQuery(rtype, q.get("resource", "").strip() or None, since, until), None


def rows(page: AuditPage) -> list[ActivityRow]:
    return [ActivityRow(e, page.names.get(e.resource_id or "")) for e in page.entries]


@dataclass(frozen=True)
class EventRow:
    event: ConsoleEvent

    @property
    def when(self) -> str:
        return self.event.at[:19].replace("T", " ") + " UTC"

    @property
    def failed(self) -> bool:
        return self.event.action in ("sign_in_failed", "locked_out", "sso_refused")


def activity_routes(console: Console) -> list[Route]:
    async def activity(request: Request, session: Session) -> Response:
        query, error = read_query(request.query_params)
        try:
            pager = Pager.read(request, PAGE_SIZE)
        except BadPage as exc:
            return bad_request(console, request, session, str(exc))
        page = await console.run(lambda: console.audit.page(
            session.tenant_id, query, pager.offset, pager.size))
        q = request.query_params
        return console.pages.render(
            request, "activity.html", csrf=session.csrf, signed_in=session, error=error,
            rows=rows(page), pager=pager.open_ended(page.has_more),
            types=RESOURCE_TYPES, form={k: q.get(k, "") for k in ("type", "resource", "from",
                                                                    "to")})

    async def console_activity(request: Request, session: Session) -> Response:
        q = request.query_params
        action = q.get("action") if q.get("action") in ACTION_LABELS else None
        try:
            pager = Pager.read(request, PAGE_SIZE)
        except BadPage as exc:
            return bad_request(console, request, session, str(exc))
        error = None
        try:
            since, until = _instant(q.get("from")), _instant(q.get("to"), end=True)
        except (ValueError, OverflowError):
            since = until = None
            error = "From and To must be dates and times (UTC), such as 2025-01-31T09:30."
        events, more = await console.run(lambda: console.events.page(
            session.tenant_id, offset=pager.offset, limit=pager.size,
            actions=(action,) if action else (), since=since, until=until))
        return console.pages.render(
            request, "activity_console.html", csrf=session.csrf, signed_in=session,
            error=error, rows=[EventRow(e) for e in events], pager=pager.open_ended(more),
            actions=ACTION_LABELS, form={"action": action or "", "from": q.get("from", ""),
                                         "to": q.get("to", "")})

    return [Route("/activity", signed_in(console, activity), methods=["GET"]),
            Route("/activity/console", signed_in(console, console_activity),
                  methods=["GET"])]
