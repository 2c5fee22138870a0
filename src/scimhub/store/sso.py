"""A tenant's single sign-on: its OpenID Connect settings, the sign-ins under way, the
requirement to use it, and the first admin, whose password stays as the break-glass.

The client secret is sealed under the same external key as revealable API tokens
(``security.TokenVault``), so the database alone never reveals it. A sign-in under way is
kept server-side under the SHA-256 of its ``state``: the browser carries only the state,
and the row is deleted by the first callback that names it, so a replayed callback finds
nothing.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select, update

from scimhub.scim.types import TenantId
from scimhub.security import TokenVault
from scimhub.store.clock import now
from scimhub.store.console_tables import sso_pending, tenant_sso
from scimhub.store.database import Database
from scimhub.store.sql import Tx
from scimhub.store.tables import admins, tenants

#: How long a sign-in may stay at the identity provider before its callback is refused.
PENDING_SECONDS = 600

_CONFIG = select(tenant_sso.c.issuer, tenant_sso.c.client_id, tenant_sso.c.display_name,
                 tenant_sso.c.updated).where(tenant_sso.c.tenant_id == bindparam("tenant_id"))
_SECRET = select(tenant_sso.c.client_secret_sealed).where(
    tenant_sso.c.tenant_id == bindparam("tenant_id"))
_REQUIRED = select(tenants.c.require_sso).where(tenants.c.id == bindparam("tenant_id"))
_TENANT_NAME = select(tenants.c.name).where(tenants.c.id == bindparam("tenant_id"))
#: The break-glass admin: the earliest created (the one ``scimhub tenant create`` made),
#: the id deciding between two created in the same instant.
_FIRST_ADMIN = (select(admins.c.id, admins.c.email)
                .where(admins.c.tenant_id == bindparam("tenant_id"))
                .order_by(admins.c.created, admins.c.id).limit(1))
_ADMIN_BY_EMAIL = select(admins.c.id, admins.c.email).where(
    admins.c.tenant_id == bindparam("tenant_id"),
    func.lower(admins.c.email) == bindparam("email"))
_PENDING = select(sso_pending.c.tenant_id, sso_pending.c.nonce, sso_pending.c.code_verifier,
                  sso_pending.c.next_url, sso_pending.c.expires).where(
    sso_pending.c.state_hash == bindparam("state_hash"))
_DELETE_PENDING = delete(sso_pending).where(sso_pending.c.state_hash == bindparam("state_hash"))
_PURGE_PENDING = delete(sso_pending).where(sso_pending.c.expires < bindparam("now"))
_INSERT_PENDING = insert(sso_pending).values(
    state_hash=bindparam("state_hash"), tenant_id=bindparam("tenant_id"),
    nonce=bindparam("nonce"), code_verifier=bindparam("code_verifier"),
    next_url=bindparam("next_url"), expires=bindparam("expires"))


class SsoNotConfigured(Exception):
    """Single sign-on cannot be required before it is configured."""


@dataclass(frozen=True)
class SsoConfig:
    """What the console may show: never the secret."""

    tenant_id: TenantId
    issuer: str
    client_id: str
    display_name: str
    updated: str


@dataclass(frozen=True)
class Pending:
    """A sign-in sent to the identity provider, as its callback finds it (already deleted)."""

    tenant_id: TenantId
    nonce: str
    code_verifier: str
    next_url: str
    expired: bool


@dataclass(frozen=True)
class SsoAdmin:
    id: str
    email: str


def password_allowed(db: Database, tenant: TenantId, admin_id: str) -> bool:
    """Whether this admin may sign in with a password: always, unless the tenant requires
    single sign-on, and then only its first admin (the break-glass). Needs no key, so the
    password sign-in can ask."""
    with db.read() as tx:
        if not tx.scalar(_REQUIRED, {"tenant_id": tenant}):
            return True
        first = tx.first(_FIRST_ADMIN, {"tenant_id": tenant})
        return first is not None and first[0] == admin_id


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class SsoStore:
    def __init__(self, db: Database, vault: TokenVault) -> None:
        self.db = db
        self.vault = vault

    # The settings

    def config(self, tenant: TenantId) -> SsoConfig | None:
        with self.db.read() as tx:
            row = tx.first(_CONFIG, {"tenant_id": tenant})
        if row is None:
            return None
        return SsoConfig(tenant, str(row[0]), str(row[1]), str(row[2]), str(row[3]))

    def client_secret(self, tenant: TenantId) -> str | None:
        """The secret, unsealed; None when none is saved or it was sealed with another key."""
        with self.db.read() as tx:
            sealed = tx.scalar(_SECRET, {"tenant_id": tenant})
        return self.vault.decrypt(str(sealed)) if sealed else None

    def save(self, tenant: TenantId, *, issuer: str, client_id: str, display_name: str,
             client_secret: str | None) -> None:
        """Create or replace the settings. ``client_secret`` None keeps the saved one (the
        form never shows it, so leaving the field empty must not erase it); the first save
        needs one."""
        values = {"issuer": issuer, "client_id": client_id, "display_name": display_name,
                  "updated": now()}
        if client_secret is not None:
            values["client_secret_sealed"] = self.vault.encrypt(client_secret)
        with self.db.write() as tx:
            exists = tx.scalar(select(tenant_sso.c.tenant_id)
                               .where(tenant_sso.c.tenant_id == tenant)) is not None
            if exists:
                tx.execute(update(tenant_sso).where(tenant_sso.c.tenant_id == tenant)
                           .values(**values))
                return
            if client_secret is None:
                raise ValueError("the first save of single sign-on needs a client secret")
            tx.execute(insert(tenant_sso).values(tenant_id=tenant, **values))

    def remove(self, tenant: TenantId) -> bool:
        """Forget the settings, and the requirement with them (nobody could meet it); the
        sign-ins under way for the tenant go too. False when there was nothing to remove."""
        with self.db.write() as tx:
            gone = tx.rowcount(delete(tenant_sso).where(tenant_sso.c.tenant_id == tenant))
            tx.execute(update(tenants).where(tenants.c.id == tenant).values(require_sso=False))
            tx.execute(delete(sso_pending).where(sso_pending.c.tenant_id == tenant))
        return gone > 0

    # The requirement and the break-glass

    def required(self, tenant: TenantId) -> bool:
        with self.db.read() as tx:
            return bool(tx.scalar(_REQUIRED, {"tenant_id": tenant}))

    def require(self, tenant: TenantId, required: bool) -> None:
        with self.db.write() as tx:
            if required and tx.scalar(_SECRET, {"tenant_id": tenant}) is None:
                raise SsoNotConfigured("configure single sign-on before requiring it")
            tx.execute(update(tenants).where(tenants.c.id == tenant)
                       .values(require_sso=required))

    def first_admin(self, tenant: TenantId) -> SsoAdmin | None:
        with self.db.read() as tx:
            row = tx.first(_FIRST_ADMIN, {"tenant_id": tenant})
        return SsoAdmin(str(row[0]), str(row[1])) if row is not None else None

    def password_allowed(self, tenant: TenantId, admin_id: str) -> bool:
        return password_allowed(self.db, tenant, admin_id)

    # Signing in

    def tenant_name(self, tenant: TenantId) -> str | None:
        with self.db.read() as tx:
            name = tx.scalar(_TENANT_NAME, {"tenant_id": tenant})
        return str(name) if name is not None else None

    def admin_by_email(self, tenant: TenantId, email: str) -> SsoAdmin | None:
        """The admin of THIS tenant with that e-mail, compared case-insensitively."""
        with self.db.read() as tx:
            row = tx.first(_ADMIN_BY_EMAIL, {"tenant_id": tenant,
                                              "email": email.strip().lower()})
        return SsoAdmin(str(row[0]), str(row[1])) if row is not None else None

    def begin(self, tenant: TenantId, *, state: str, nonce: str, code_verifier: str,
              next_url: str, seconds: int = PENDING_SECONDS) -> None:
        """Record a sign-in about to leave for the identity provider; sign-ins that were
        abandoned there are swept at the same time, so the table stays small."""
        moment = int(time.time())
        with self.db.write() as tx:
            tx.execute(_PURGE_PENDING, {"now": moment})
            tx.execute(_INSERT_PENDING, {
                "state_hash": state_hash(state), "tenant_id": tenant, "nonce": nonce,
                "code_verifier": code_verifier, "next_url": next_url,
                "expires": moment + seconds})

    def consume(self, state: str) -> Pending | None:
        """The sign-in this ``state`` names, deleted in the same transaction, so only one
        callback ever gets it; None when no such sign-in is under way (never started,
        or already used)."""
        key = {"state_hash": state_hash(state)}
        with self.db.write() as tx:
            row = tx.first(_PENDING, key)
            if row is None or self._deleted(tx, key) != 1:
                return None
        return Pending(TenantId(str(row[0])), str(row[1]), str(row[2]), str(row[3]),
                       expired=int(row[4]) < int(time.time()))

    @staticmethod
    def _deleted(tx: Tx, key: dict[str, str]) -> int:
        return tx.rowcount(_DELETE_PENDING, key)
