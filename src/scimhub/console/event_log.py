"""Recording what admins do in the console (``store/events.py``), with who, when and from where.

Handlers call :func:`record_event` after an action, or pass :func:`event_in` to a store method
that takes ``then``, so that the change and its record commit in one transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from scimhub.scim.types import TenantId
from scimhub.store.events import EventAction
from scimhub.store.sql import Tx

if TYPE_CHECKING:
    from collections.abc import Callable

    from scimhub.console.context import Console


def client_address(request: Request) -> str | None:
    """The address the lockout counts against and events name: the connection's peer, which
    uvicorn replaces with ``X-Forwarded-For`` only for proxies listed in
    ``--forwarded-allow-ips``."""
    return request.client.host if request.client is not None else None


def event_in(console: Console, request: Request, tenant: TenantId | None, action: EventAction,
             *, actor: str | None, detail: str | None = None) -> Callable[[Tx], None]:
    """The record of an action, to run inside the action's own transaction."""
    client = client_address(request)

    def record(tx: Tx) -> None:
        console.events.record(tenant, action, actor=actor, client=client, detail=detail, tx=tx)

    return record


def record_now(console: Console, request: Request, tenant: TenantId | None,
               action: EventAction, *, actor: str | None, detail: str | None = None) -> None:
    """Blocking: for work already on a worker thread."""
    console.events.record(tenant, action, actor=actor, client=client_address(request),
                          detail=detail)


async def record_event(console: Console, request: Request, tenant: TenantId | None,
                       action: EventAction, *, actor: str | None,
                       detail: str | None = None) -> None:
    """Record an action in a transaction of its own, off the event loop."""
    await console.run(lambda: record_now(console, request, tenant, action, actor=actor,
                                         detail=detail))
