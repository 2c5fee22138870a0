"""Tenants, their admins and their API tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from scimhub.scim.types import TenantId
from scimhub.security import (
    IssuedToken,
    TokenVault,
    hash_password,
    issue_token,
    token_matches,
    token_prefix,
    verify_password,
)
from scimhub.store.clock import now
from scimhub.store.database import Database
from scimhub.store.tables import admins, api_tokens, tenants


class TenantExists(Exception):
    pass


class NoSuchTenant(Exception):
    pass


@dataclass(frozen=True)
class Tenant:
    id: TenantId
    name: str
    created: str
    deprovision: str


@dataclass(frozen=True)
class Admin:
    id: str
    tenant_id: TenantId
    email: str


class TenantStore:
    def __init__(self, db: Database, vault: TokenVault) -> None:
        self.db = db
        self.vault = vault

    def create(self, name: str, admin_email: str, admin_password: str) -> tuple[Tenant, str]:
        """Create a tenant with its first admin; returns the tenant and its new token."""
        tenant_id = TenantId(str(uuid.uuid4()))
        created = now()
        issued = issue_token()
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(tenants).values(id=tenant_id, name=name, created=created)
                )
                conn.execute(
                    insert(admins).values(
                        id=str(uuid.uuid4()),
                        tenant_id=tenant_id,
                        email=admin_email.strip().lower(),
                        password_hash=hash_password(admin_password),
                        created=created,
                    )
                )
                self._insert_token(conn, tenant_id, issued)
        except IntegrityError as exc:
            detail = f"a tenant named {name!r} or an admin {admin_email!r} exists"
            raise TenantExists(detail) from exc
        return Tenant(tenant_id, name, created, "soft"), issued.token

    def _insert_token(self, conn: object, tenant_id: TenantId, issued: IssuedToken) -> None:
        conn.execute(  # type: ignore[attr-defined]
            insert(api_tokens).values(
                prefix=issued.prefix,
                tenant_id=tenant_id,
                digest=issued.digest,
                sealed=self.vault.encrypt(issued.token),
                created=now(),
            )
        )

    def list(self) -> list[Tenant]:
        with self.db.read() as conn:
            rows = conn.execute(select(tenants).order_by(tenants.c.name)).all()
        return [Tenant(TenantId(r.id), r.name, r.created, r.deprovision) for r in rows]

    def by_name(self, name: str) -> Tenant:
        with self.db.read() as conn:
            row = conn.execute(select(tenants).where(tenants.c.name == name)).first()
        if row is None:
            raise NoSuchTenant(name)
        return Tenant(TenantId(row.id), row.name, row.created, row.deprovision)

    def reset_token(self, tenant_id: TenantId) -> str:
        """Issue a new token and revoke every old one in the same transaction."""
        issued = issue_token()
        with self.db.write() as conn:
            conn.execute(delete(api_tokens).where(api_tokens.c.tenant_id == tenant_id))
            self._insert_token(conn, tenant_id, issued)
        return issued.token

    def reveal_token(self, tenant_id: TenantId) -> str | None:
        with self.db.read() as conn:
            sealed = conn.execute(
                select(api_tokens.c.sealed).where(api_tokens.c.tenant_id == tenant_id)
            ).scalar()
        return self.vault.decrypt(sealed) if sealed else None

    def authenticate(self, token: str) -> TenantId | None:
        """The tenant a bearer token belongs to, or None. One indexed lookup."""
        prefix = token_prefix(token)
        if prefix is None:
            return None
        with self.db.read() as conn:
            row = conn.execute(
                select(api_tokens.c.tenant_id, api_tokens.c.digest).where(
                    api_tokens.c.prefix == prefix
                )
            ).first()
        if row is None or not token_matches(token, row.digest):
            return None
        return TenantId(row.tenant_id)

    def sign_in(self, email: str, password: str) -> Admin | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(admins).where(admins.c.email == email.strip().lower())
            ).first()
        if row is None or not verify_password(password, row.password_hash):
            return None
        return Admin(row.id, TenantId(row.tenant_id), row.email)
