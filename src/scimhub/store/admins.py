"""A tenant's admins: listing, adding, removing (never the last one), changing a password.

The tenant's first admin is created with the tenant (``TenantStore.create``); the console adds
the others, directly with a first password or through an invitation (``store/invitations.py``).
Every change takes a ``then`` callback that runs inside the same write transaction, so that the
console's record of the change (``ConsoleEvents.record(..., tx=tx)``) commits with it or not at
all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import bindparam, delete, func, insert, select, update

from scimhub.scim.types import TenantId
from scimhub.store.clock import now
from scimhub.store.database import Database
from scimhub.store.sessions import Then, end_other_sessions
from scimhub.store.sql import Tx
from scimhub.store.tables import admins

#: The password policy of every password an admin chooses in the console. NIST SP 800-63B
#: asks for length rather than composition rules; the upper bound only keeps Argon2's input
#: (and a form) reasonable.
MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 1000

_EMAILS = (select(admins.c.email).where(admins.c.tenant_id == bindparam("tenant_id"))
           .order_by(admins.c.email))
_LIST = (select(admins.c.id, admins.c.email, admins.c.created)
         .where(admins.c.tenant_id == bindparam("tenant_id")).order_by(admins.c.email))
_TENANT_OF = select(admins.c.tenant_id).where(admins.c.email == bindparam("email"))
_INSERT = insert(admins).values(
    id=bindparam("id"), tenant_id=bindparam("tenant_id"), email=bindparam("email"),
    password_hash=bindparam("password_hash"), created=bindparam("created"),
)
#: Locks every admin row of the tenant (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds
#: the one write lock): two removals that would each leave one admin are serialised, and the
#: second, re-reading after the first commits, sees a single admin and refuses.
_LOCK_TENANT_ADMINS = (select(admins.c.id, admins.c.email)
                       .where(admins.c.tenant_id == bindparam("tenant_id"))
                       .with_for_update())
_DELETE = delete(admins).where(admins.c.id == bindparam("id"),
                               admins.c.tenant_id == bindparam("tenant_id"))
_SET_PASSWORD = (update(admins).where(admins.c.id == bindparam("id"),
                                      admins.c.tenant_id == bindparam("tenant_id"))
                 .values(password_hash=bindparam("password_hash")))


class AdminExists(Exception):
    """The e-mail is already an admin's, in this tenant or another (e-mails are unique)."""


class LastAdmin(Exception):
    """Removing this admin would leave the tenant with none: nobody could sign in."""


class NoSuchAdmin(Exception):
    """No admin with that id in this tenant (never another tenant's)."""


class WeakPassword(ValueError):
    """A password the policy refuses; the message says what is wanted."""


@dataclass(frozen=True)
class AdminRow:
    id: str
    email: str
    created: str


def password_problem(password: str) -> str | None:
    """Why the policy refuses ``password``, or None when it is accepted."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must be at most {MAX_PASSWORD_LENGTH} characters long."
    return None


def normalise_email(email: str) -> str:
    """As ``TenantStore`` stores them: sign-in looks e-mails up in this form."""
    return email.strip().lower()


def admin_emails(db: Database, tenant: TenantId) -> list[str]:
    with db.read() as tx:
        return [str(r[0]) for r in tx.all(_EMAILS, {"tenant_id": tenant})]


def list_admins(db: Database, tenant: TenantId) -> list[AdminRow]:
    with db.read() as tx:
        return [AdminRow(str(r[0]), str(r[1]), str(r[2]))
                for r in tx.all(_LIST, {"tenant_id": tenant})]


def tenant_of_email(db: Database, email: str) -> TenantId | None:
    """The tenant whose admin has this e-mail: where a failed sign-in for it is recorded."""
    with db.read() as tx:
        found = tx.scalar(_TENANT_OF, {"email": normalise_email(email)})
    return TenantId(str(found)) if found is not None else None


def insert_admin(tx: Tx, db: Database, tenant: TenantId, email: str, password_hash: str) -> str:
    """Inside ``tx``: a new admin's id; ``AdminExists`` when the e-mail is anyone's already.

    On PostgreSQL a failed INSERT aborts the transaction, so the check comes first; the unique
    index still decides a race between two inserts (``db.integrity_error``)."""
    address = normalise_email(email)
    if tx.scalar(_TENANT_OF, {"email": address}) is not None:
        raise AdminExists(address)
    admin_id = str(uuid.uuid4())
    try:
        tx.execute(_INSERT, {"id": admin_id, "tenant_id": tenant, "email": address,
                             "password_hash": password_hash, "created": now()})
    except db.integrity_error as exc:
        raise AdminExists(address) from exc
    return admin_id


def add_admin(db: Database, tenant: TenantId, email: str, password_hash: str,
              then: Then = None) -> str:
    """A new admin of ``tenant`` with a password hashed beforehand (Argon2 is slow: never
    inside a write transaction); returns its id."""
    with db.write() as tx:
        admin_id = insert_admin(tx, db, tenant, email, password_hash)
        if then is not None:
            then(tx)
    return admin_id


def remove_admin(db: Database, tenant: TenantId, admin_id: str, *, by: str,
                 then: Callable[[str, Tx], None] | None = None) -> str:
    """Remove an admin of ``tenant`` (``NoSuchAdmin`` for anyone else's) on behalf of admin
    ``by``; returns the removed admin's e-mail. Their sessions go with them (the foreign key
    cascades). ``LastAdmin`` when they are the tenant's only admin; the check and the delete
    share one transaction that holds the tenant's admin rows, so concurrent removals cannot
    remove the last two. ``NoSuchAdmin`` too when ``by`` was itself removed meanwhile.
    ``then`` gets the removed admin's e-mail and the transaction."""
    with db.write() as tx:
        current = {str(r[0]): str(r[1])
                   for r in tx.all(_LOCK_TENANT_ADMINS, {"tenant_id": tenant})}
        if admin_id not in current or by not in current:
            raise NoSuchAdmin(admin_id)
        if len(current) <= 1:
            raise LastAdmin(current[admin_id])
        tx.execute(_DELETE, {"id": admin_id, "tenant_id": tenant})
        if then is not None:
            then(current[admin_id], tx)
    return current[admin_id]


def change_password(db: Database, tenant: TenantId, admin_id: str, password_hash: str,
                    keep_session: str, then: Then = None) -> int:
    """Set the admin's new (already hashed) password and end every session of theirs but
    ``keep_session`` (the one that asked), in one transaction; returns how many ended."""
    with db.write() as tx:
        if tx.rowcount(_SET_PASSWORD, {"id": admin_id, "tenant_id": tenant,
                                       "password_hash": password_hash}) != 1:
            raise NoSuchAdmin(admin_id)
        ended = end_other_sessions(tx, admin_id, keep_session)
        if then is not None:
            then(tx)
    return ended


def count_admins(db: Database, tenant: TenantId) -> int:
    with db.read() as tx:
        return int(tx.scalar(select(func.count()).select_from(admins)
                             .where(admins.c.tenant_id == tenant)))
