"""Invitations to become a tenant's admin: a link with a one-time secret that expires.

The link carries a random 256-bit secret; the database keeps only its SHA-256 (the primary
key), so a copy of the database cannot be used to accept one. An invitation is consumed by the
transaction that creates the admin, so it can be used once. A new invitation for an e-mail the
tenant already invited replaces the earlier one, and expired ones are deleted whenever an
invitation is created.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import bindparam, delete, insert, select

from scimhub.scim.types import TenantId
from scimhub.security import token_digest
from scimhub.store.admins import AdminExists, insert_admin, normalise_email
from scimhub.store.console_tables import admin_invitations as i
from scimhub.store.database import Database
from scimhub.store.sessions import Then
from scimhub.store.sql import Tx
from scimhub.store.tables import admins, tenants

#: How long a link stays valid: over a weekend, not much longer.
DEFAULT_TTL: Final = 72 * 3600

_INSERT = insert(i).values(
    id_hash=bindparam("id_hash"), tenant_id=bindparam("tenant_id"), email=bindparam("email"),
    invited_by=bindparam("invited_by"), created=bindparam("now"), expires=bindparam("expires"),
)
_PRUNE = delete(i).where(i.c.expires <= bindparam("now"))
_REPLACE = delete(i).where(i.c.tenant_id == bindparam("tenant_id"),
                           i.c.email == bindparam("email"))
_ADMIN_EXISTS = select(admins.c.id).where(admins.c.email == bindparam("email"))
_FIND = (select(i.c.tenant_id, tenants.c.name, i.c.email, i.c.expires)
         .join(tenants, tenants.c.id == i.c.tenant_id)
         .where(i.c.id_hash == bindparam("id_hash"), i.c.expires > bindparam("now")))
_CONSUME = delete(i).where(i.c.id_hash == bindparam("id_hash"))
_PENDING = (select(i.c.id_hash, i.c.email, i.c.created, i.c.expires, admins.c.email)
            .outerjoin(admins, admins.c.id == i.c.invited_by)
            .where(i.c.tenant_id == bindparam("tenant_id"), i.c.expires > bindparam("now"))
            .order_by(i.c.created.desc()))
_REVOKE = delete(i).where(i.c.id_hash == bindparam("id_hash"),
                          i.c.tenant_id == bindparam("tenant_id"))


@dataclass(frozen=True)
class Invitation:
    """What the acceptance page shows: who is invited to which tenant, until when."""

    tenant_id: TenantId
    tenant_name: str
    email: str
    expires: int


@dataclass(frozen=True)
class PendingInvitation:
    """An invitation not yet accepted, as the Admins page lists it. ``id`` is the secret's
    digest: enough to revoke it, useless to accept it."""

    id: str
    email: str
    created: int
    expires: int
    invited_by: str | None


class InvitationGone(Exception):
    """Unknown, already used, revoked or expired: the page says the link no longer works."""


class Invitations:
    def __init__(self, db: Database, ttl: int = DEFAULT_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock

    def create(self, tenant: TenantId, email: str, invited_by: str, then: Then = None) -> str:
        """The secret of a new invitation (shown once, never stored); ``AdminExists`` when
        the e-mail is already an admin's anywhere."""
        secret = secrets.token_urlsafe(32)
        address = normalise_email(email)
        now = int(self.clock())
        with self.db.write() as tx:
            if tx.scalar(_ADMIN_EXISTS, {"email": address}) is not None:
                raise AdminExists(address)
            tx.execute(_PRUNE, {"now": now})
            tx.execute(_REPLACE, {"tenant_id": tenant, "email": address})
            tx.execute(_INSERT, {"id_hash": token_digest(secret), "tenant_id": tenant,
                                 "email": address, "invited_by": invited_by, "now": now,
                                 "expires": now + self.ttl})
            if then is not None:
                then(tx)
        return secret

    def find(self, secret: str) -> Invitation | None:
        """The live invitation of this secret, or None (unknown, used, revoked, expired)."""
        with self.db.read() as tx:
            row = tx.first(_FIND, {"id_hash": token_digest(secret), "now": int(self.clock())})
        if row is None:
            return None
        return Invitation(TenantId(str(row[0])), str(row[1]), str(row[2]), int(row[3]))

    def accept(self, secret: str, password_hash: str,
               then: Callable[[Invitation, Tx], None] | None = None,
               ) -> tuple[Invitation, str]:
        """Create the invited admin with this (already hashed) password and consume the
        invitation, in one transaction: the invitation and its new admin's id.

        ``InvitationGone`` when the link no longer works (two acceptances at once: one
        wins); ``AdminExists`` when the e-mail became an admin's meanwhile (the invitation
        stays consumed: nothing is left for it to do)."""
        digest = token_digest(secret)
        with self.db.write() as tx:
            row = tx.first(_FIND, {"id_hash": digest, "now": int(self.clock())})
            if row is None or tx.rowcount(_CONSUME, {"id_hash": digest}) != 1:
                raise InvitationGone
            invitation = Invitation(TenantId(str(row[0])), str(row[1]), str(row[2]),
                                    int(row[3]))
            if tx.scalar(_ADMIN_EXISTS, {"email": invitation.email}) is not None:
                exists = AdminExists(invitation.email)
            else:
                admin_id = insert_admin(tx, self.db, invitation.tenant_id, invitation.email,
                                        password_hash)
                if then is not None:
                    then(invitation, tx)
                exists = None
        if exists is not None:  # raised after the commit, which consumed the invitation
            raise exists
        return invitation, admin_id

    def pending(self, tenant: TenantId) -> list[PendingInvitation]:
        with self.db.read() as tx:
            rows = tx.all(_PENDING, {"tenant_id": tenant, "now": int(self.clock())})
        return [PendingInvitation(str(r[0]), str(r[1]), int(r[2]), int(r[3]),
                                  str(r[4]) if r[4] is not None else None) for r in rows]

    def revoke(self, tenant: TenantId, invitation_id: str,
               then: Callable[[Tx, str], None] | None = None) -> str | None:
        """Withdraw one of ``tenant``'s invitations (never another tenant's); the e-mail it
        named, or None when there was no such invitation. ``then(tx, email)`` runs in the same
        transaction (the console's record of it)."""
        with self.db.write() as tx:
            email = tx.scalar(select(i.c.email).where(i.c.id_hash == invitation_id,
                                                      i.c.tenant_id == tenant))
            if email is None:
                return None
            tx.execute(_REVOKE, {"id_hash": invitation_id, "tenant_id": tenant})
            if then is not None:
                then(tx, str(email))
        return str(email)
