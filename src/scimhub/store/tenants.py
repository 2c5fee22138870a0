"""Tenants, their admins and their API tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, delete, insert, select, update

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
from scimhub.store.provisioning_tables import tenant_token_digests
from scimhub.store.sql import Tx
from scimhub.store.tables import admins, api_tokens, tenants

#: With the tenant's schema-extension version (store/schemas.py) and its own rate limit: one
#: primary-key join more, so neither costs a query of its own.
_TOKEN_BY_PREFIX = select(api_tokens.c.tenant_id, api_tokens.c.digest,
                          tenants.c.schemas_version, tenants.c.rate_limit).join(
    tenants, tenants.c.id == api_tokens.c.tenant_id).where(
    api_tokens.c.prefix == bindparam("prefix")
)
_INSERT_TOKEN = insert(api_tokens).values(
    prefix=bindparam("prefix"), tenant_id=bindparam("tenant_id"), digest=bindparam("digest"),
    sealed=bindparam("sealed"), created=bindparam("created"),
)
_RECORD_DIGEST = insert(tenant_token_digests).values(
    digest=bindparam("digest"), tenant_id=bindparam("tenant_id"), issued=bindparam("created"),
)
_TENANT_COLUMNS = (tenants.c.id, tenants.c.name, tenants.c.created, tenants.c.deprovision,
                   tenants.c.rate_limit)
#: Verified when the e-mail is unknown, so that a sign-in takes as long either way.
_DUMMY_HASH = hash_password("not a password anyone has")


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
    #: The tenant's own request limit (a RATE, or "off"); None: the server's default.
    rate_limit: str | None = None


class Identity(NamedTuple):
    """What a bearer token says about its request, read in the token's one lookup."""

    tenant: TenantId
    #: The tenant's schema-extension version (store/schemas.py; 0: never registered one).
    schemas_version: int
    #: ``tenants.rate_limit``: a RATE, "off", or None for the server's default.
    rate_limit: str | None


@dataclass(frozen=True)
class Admin:
    id: str
    tenant_id: TenantId
    email: str


def _tenant(row: tuple[object, ...]) -> Tenant:
    return Tenant(TenantId(str(row[0])), str(row[1]), str(row[2]), str(row[3]),
                  None if row[4] is None else str(row[4]))


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
            with self.db.write() as tx:
                tx.execute(insert(tenants).values(id=tenant_id, name=name, created=created))
                tx.execute(insert(admins).values(
                    id=str(uuid.uuid4()), tenant_id=tenant_id,
                    email=admin_email.strip().lower(),
                    password_hash=hash_password(admin_password), created=created,
                ))
                self._insert_token(tx, tenant_id, issued)
        except self.db.integrity_error as exc:
            detail = f"a tenant named {name!r} or an admin {admin_email!r} exists"
            raise TenantExists(detail) from exc
        return Tenant(tenant_id, name, created, "soft"), issued.token

    def _insert_token(self, tx: Tx, tenant_id: TenantId, issued: IssuedToken) -> None:
        """The token row (what authenticates) and, in the same transaction, its digest in
        the tenant's history (what attributes provisioning cycles to the tenant)."""
        created = now()
        tx.execute(_INSERT_TOKEN, {
            "prefix": issued.prefix, "tenant_id": tenant_id, "digest": issued.digest,
            "sealed": self.vault.encrypt(issued.token), "created": created,
        })
        tx.execute(_RECORD_DIGEST, {"digest": issued.digest, "tenant_id": tenant_id,
                                    "created": created})

    def token_digests(self, tenant_id: TenantId) -> list[str]:
        return token_digests(self.db, tenant_id)

    def list(self) -> list[Tenant]:
        with self.db.read() as tx:
            rows = tx.all(select(*_TENANT_COLUMNS).order_by(tenants.c.name))
        return [_tenant(r) for r in rows]

    def by_name(self, name: str) -> Tenant:
        with self.db.read() as tx:
            row = tx.first(select(*_TENANT_COLUMNS).where(tenants.c.name == name))
        if row is None:
            raise NoSuchTenant(name)
        return _tenant(row)

    def reset_token(self, tenant_id: TenantId) -> str:
        """Issue a new token and revoke every old one in the same transaction."""
        issued = issue_token()
        with self.db.write() as tx:
            tx.execute(delete(api_tokens).where(api_tokens.c.tenant_id == tenant_id))
            self._insert_token(tx, tenant_id, issued)
        return issued.token

    def reveal_token(self, tenant_id: TenantId) -> str | None:
        with self.db.read() as tx:
            sealed = tx.scalar(
                select(api_tokens.c.sealed).where(api_tokens.c.tenant_id == tenant_id)
            )
        return self.vault.decrypt(sealed) if sealed else None

    def authenticate(self, token: str) -> TenantId | None:
        """The tenant a bearer token belongs to, or None. One indexed lookup."""
        found = self.identify(token)
        return found[0] if found is not None else None

    def identify(self, token: str) -> Identity | None:
        """The tenant a bearer token belongs to, its schema-extension version and its rate
        limit, or None.

        Both come with the token in the same indexed lookup: the server can tell whether
        its cached resource types for the tenant are current (0: the tenant has never
        registered an extension), and a ``scimhub tenant limit`` applies from the next
        request in every process, without a second query or a cache to expire.

        One statement, outside any transaction (``Database.single``), read afresh for every
        request: a token revoked or reset is refused by every request that starts after the
        revocation committed, in every process. Nothing here caches an accepted token.
        """
        prefix = token_prefix(token)
        if prefix is None:
            return None
        with self.db.single() as tx:
            row = tx.first(_TOKEN_BY_PREFIX, {"prefix": prefix})
        if row is None or not token_matches(token, str(row[1])):
            return None
        return Identity(TenantId(str(row[0])), int(row[2]),
                        None if row[3] is None else str(row[3]))

    def set_rate_limit(self, tenant_id: TenantId, rate_limit: str | None) -> None:
        """The tenant's own limit: a RATE as :func:`scimhub.rates.parse_rate` spells it, "off",
        or None to follow the server's default. The caller checks the text."""
        with self.db.write() as tx:
            done = tx.execute(update(tenants).where(tenants.c.id == tenant_id)
                              .values(rate_limit=rate_limit))
        if done.rowcount == 0:
            raise NoSuchTenant(tenant_id)

    def sign_in(self, email: str, password: str) -> Admin | None:
        with self.db.read() as tx:
            row = tx.first(select(admins.c.id, admins.c.tenant_id, admins.c.email,
                                  admins.c.password_hash)
                           .where(admins.c.email == email.strip().lower()))
        if row is None:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, str(row[3])):
            return None
        return Admin(str(row[0]), TenantId(str(row[1])), str(row[2]))


def token_digests(db: Database, tenant_id: TenantId) -> list[str]:
    """The SHA-256 of every token the tenant was ever issued, revoked ones included.

    Only for attributing what was done with them (the provisioning log): a revoked
    token's row is gone from ``api_tokens``, so it can no longer authenticate. Needs
    no vault, so the console's provisioning page can ask without one.
    """
    with db.read() as tx:
        rows = tx.all(select(tenant_token_digests.c.digest)
                      .where(tenant_token_digests.c.tenant_id == tenant_id)
                      .order_by(tenant_token_digests.c.issued))
    return [str(r[0]) for r in rows]
