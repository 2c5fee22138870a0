"""The SSO store on SQLite and PostgreSQL: the client secret sealed, a sign-in under way
consumed once, the requirement and its break-glass admin."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, select

from scimhub.scim.types import TenantId
from scimhub.security import hash_password
from scimhub.store.console_tables import sso_pending, tenant_sso
from scimhub.store.database import Database
from scimhub.store.sso import SsoNotConfigured, SsoStore, password_allowed, state_hash
from scimhub.store.tables import admins
from scimhub.store.tenants import TenantStore

SECRET = "s3cr3t~client.secret_value"


@pytest.fixture()
def sso(db: Database, tenants: TenantStore) -> SsoStore:
    return SsoStore(db, tenants.vault)


def _tenant(tenants: TenantStore, name: str = "acme") -> TenantId:
    return tenants.create(name, f"admin@{name}.example", "pw")[0].id


def _add_admin(db: Database, tenant: TenantId, email: str, created: str) -> str:
    admin_id = str(uuid.uuid4())
    with db.write() as tx:
        tx.execute(insert(admins).values(id=admin_id, tenant_id=tenant, email=email,
                                         password_hash=hash_password("pw2"), created=created))
    return admin_id


def test_the_client_secret_is_sealed_never_stored_plain(db: Database, tenants: TenantStore,
                                                        sso: SsoStore) -> None:
    tenant = _tenant(tenants)
    sso.save(tenant, issuer="https://idp.example", client_id="app", display_name="IdP",
             client_secret=SECRET)
    with db.read() as tx:
        row = tx.first(select(tenant_sso))
    assert row is not None and SECRET not in " ".join(map(str, row))
    assert sso.client_secret(tenant) == SECRET
    config = sso.config(tenant)
    assert config is not None and (config.issuer, config.client_id) == ("https://idp.example",
                                                                         "app")
    assert SECRET not in repr(config)


def test_saving_without_a_secret_keeps_the_saved_one(tenants: TenantStore,
                                                      sso: SsoStore) -> None:
    tenant = _tenant(tenants)
    with pytest.raises(ValueError, match="needs a client secret"):
        sso.save(tenant, issuer="https://a.example", client_id="app", display_name="A",
                 client_secret=None)
    sso.save(tenant, issuer="https://a.example", client_id="app", display_name="A",
             client_secret=SECRET)
    sso.save(tenant, issuer="https://b.example", client_id="app2", display_name="B",
             client_secret=None)
    assert sso.client_secret(tenant) == SECRET
    assert sso.config(tenant).issuer == "https://b.example"  # type: ignore[union-attr]


def test_a_pending_sign_in_is_consumed_once(db: Database, tenants: TenantStore,
                                             sso: SsoStore) -> None:
    tenant = _tenant(tenants)
    sso.begin(tenant, state="the-state", nonce="n", code_verifier="v", next_url="/users")
    with db.read() as tx:
        keys = [r[0] for r in tx.all(select(sso_pending.c.state_hash))]
    assert keys == [state_hash("the-state")]  # the state itself is not stored
    first = sso.consume("the-state")
    assert first is not None and (first.tenant_id, first.nonce, first.code_verifier,
                                  first.next_url, first.expired) == (tenant, "n", "v",
                                                                     "/users", False)
    assert sso.consume("the-state") is None
    assert sso.consume("never-started") is None


def test_an_expired_sign_in_says_so_and_old_ones_are_swept(db: Database, tenants: TenantStore,
                                                            sso: SsoStore) -> None:
    tenant = _tenant(tenants)
    sso.begin(tenant, state="old", nonce="n", code_verifier="v", next_url="/", seconds=-5)
    old = sso.consume("old")
    assert old is not None and old.expired
    sso.begin(tenant, state="abandoned", nonce="n", code_verifier="v", next_url="/",
              seconds=-5)
    sso.begin(tenant, state="new", nonce="n", code_verifier="v", next_url="/")
    with db.read() as tx:
        assert [r[0] for r in tx.all(select(sso_pending.c.state_hash))] == [state_hash("new")]


def test_requiring_needs_a_configuration_and_spares_the_first_admin(
        db: Database, tenants: TenantStore, sso: SsoStore) -> None:
    tenant = _tenant(tenants)
    other = _tenant(tenants, "globex")
    first = sso.first_admin(tenant)
    assert first is not None and first.email == "admin@acme.example"
    second = _add_admin(db, tenant, "second@acme.example", "2999-01-01T00:00:00Z")
    with pytest.raises(SsoNotConfigured):
        sso.require(tenant, True)
    assert not sso.required(tenant)
    sso.save(tenant, issuer="https://idp.example", client_id="app", display_name="IdP",
             client_secret=SECRET)
    assert password_allowed(db, tenant, second)
    sso.require(tenant, True)
    assert sso.required(tenant) and not sso.required(other)
    assert password_allowed(db, tenant, first.id)
    assert not password_allowed(db, tenant, second)
    assert sso.first_admin(tenant) == first  # a later admin never becomes the first
    sso.require(tenant, False)
    assert password_allowed(db, tenant, second)


def test_removing_forgets_the_requirement_and_the_pending_sign_ins(
        db: Database, tenants: TenantStore, sso: SsoStore) -> None:
    tenant = _tenant(tenants)
    second = _add_admin(db, tenant, "second@acme.example", "2999-01-01T00:00:00Z")
    sso.save(tenant, issuer="https://idp.example", client_id="app", display_name="IdP",
             client_secret=SECRET)
    sso.require(tenant, True)
    sso.begin(tenant, state="s", nonce="n", code_verifier="v", next_url="/")
    assert sso.remove(tenant) is True
    assert sso.config(tenant) is None and sso.client_secret(tenant) is None
    assert not sso.required(tenant) and password_allowed(db, tenant, second)
    assert sso.consume("s") is None
    assert sso.remove(tenant) is False


def test_admins_match_by_email_case_insensitively_within_their_tenant(
        db: Database, tenants: TenantStore, sso: SsoStore) -> None:
    acme = _tenant(tenants)
    globex = _tenant(tenants, "globex")
    found = sso.admin_by_email(acme, "  Admin@ACME.example ")
    assert found is not None and found.email == "admin@acme.example"
    assert sso.admin_by_email(globex, "admin@acme.example") is None
    assert sso.tenant_name(acme) == "acme"
    assert sso.tenant_name(TenantId(str(uuid.uuid4()))) is None
