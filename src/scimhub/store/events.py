"""Console events: the security-relevant actions taken in the console, with who, when and where.

The audit log (``store/audit.py``) records what SCIM clients wrote; this log records what people
did in the console: signing in and failing to, lockouts, revealing and resetting the API token,
adding and removing admins, changing SSO. The Activity page shows both to the tenant's admins.
A failed sign-in with an e-mail no admin has names no tenant: it is kept with ``tenant_id``
NULL, where no tenant's page shows it, for the operator's eyes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import bindparam, delete, insert, select

from scimhub.scim.types import TenantId
from scimhub.store.clock import now
from scimhub.store.console_tables import console_events as e
from scimhub.store.database import Database
from scimhub.store.sql import Tx

EventAction = Literal[
    "sign_in", "sign_in_failed", "locked_out", "sign_out",
    "sso_sign_in", "sso_refused", "sso_configured", "sso_removed", "sso_required",
    "token_revealed", "token_reset",
    "admin_invited", "invitation_withdrawn", "admin_added", "admin_removed", "password_changed",
    "sessions_revoked",
]
#: How the Activity page names each action.
ACTION_LABELS: Final[dict[str, str]] = {
    "sign_in": "Signed in",
    "sign_in_failed": "Failed sign-in",
    "locked_out": "Locked out",
    "sign_out": "Signed out",
    "sso_sign_in": "Signed in with SSO",
    "sso_refused": "SSO sign-in refused",
    "sso_configured": "SSO configuration changed",
    "sso_removed": "SSO configuration removed",
    "sso_required": "SSO requirement changed",
    "token_revealed": "API token revealed",
    "token_reset": "API token reset",
    "admin_invited": "Admin invited",
    "invitation_withdrawn": "Invitation withdrawn",
    "admin_added": "Admin added",
    "admin_removed": "Admin removed",
    "password_changed": "Password changed",
    "sessions_revoked": "Other sessions signed out",
}

_INSERT = insert(e).values(
    tenant_id=bindparam("tenant_id"), at=bindparam("at"), action=bindparam("action"),
    actor=bindparam("actor"), client=bindparam("client"), detail=bindparam("detail"),
)
_COLUMNS = (e.c.id, e.c.at, e.c.action, e.c.actor, e.c.client, e.c.detail)


@dataclass(frozen=True)
class ConsoleEvent:
    id: int
    at: str
    action: str
    actor: str | None
    client: str | None
    detail: str | None

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)


class ConsoleEvents:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, tenant: TenantId | None, action: EventAction, *, actor: str | None,
               client: str | None, detail: str | None = None, tx: Tx | None = None) -> None:
        """One row; inside ``tx`` when given, so an action and its record commit together.

        ``detail`` is for people (what changed, an IdP's refusal); never a secret."""
        row = {"tenant_id": tenant, "at": now(), "action": action,
               "actor": actor[:320] if actor else actor,
               "client": client[:64] if client else client,
               "detail": detail[:1000] if detail else detail}
        if tx is not None:
            tx.execute(_INSERT, row)
            return
        with self.db.write() as own:
            own.execute(_INSERT, row)

    def page(self, tenant: TenantId, *, offset: int = 0, limit: int = 50,
             actions: tuple[str, ...] = (), since: str | None = None,
             until: str | None = None) -> tuple[list[ConsoleEvent], bool]:
        """Newest first; the flag says whether an older page exists."""
        where = [e.c.tenant_id == tenant]
        if actions:
            where.append(e.c.action.in_(actions))
        if since:
            where.append(e.c.at >= since)
        if until:
            where.append(e.c.at < until)
        stmt = (select(*_COLUMNS).where(*where).order_by(e.c.at.desc(), e.c.id.desc())
                .offset(offset).limit(limit + 1))
        with self.db.read() as tx:
            rows = tx.all(stmt)
        events = [ConsoleEvent(int(r[0]), str(r[1]), str(r[2]), r[3], r[4], r[5])
                  for r in rows[:limit]]
        return events, len(rows) > limit

    def purge(self, older_than: str, batch: int = 5000) -> int:
        """Delete events before ``older_than`` (a canonical UTC string), in batches so that no
        transaction holds the table for long; returns how many went."""
        gone = 0
        while True:
            with self.db.write() as tx:
                ids = [r[0] for r in tx.all(select(e.c.id).where(e.c.at < older_than)
                                            .order_by(e.c.id).limit(batch))]
                if ids:
                    tx.execute(delete(e).where(e.c.id.in_(ids)))
            gone += len(ids)
            if len(ids) < batch:
                return gone
