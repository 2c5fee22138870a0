"""Reading a tenant's admins (creating them is ``TenantStore``'s job)."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from scimhub.scim.types import TenantId
from scimhub.store.database import Database
from scimhub.store.tables import admins

_EMAILS = (select(admins.c.email).where(admins.c.tenant_id == bindparam("tenant_id"))
           .order_by(admins.c.email))


def admin_emails(db: Database, tenant: TenantId) -> list[str]:
    with db.read() as tx:
        return [str(r[0]) for r in tx.all(_EMAILS, {"tenant_id": tenant})]
