"""Sessions are random, stored only as a hash, and end on expiry, idleness or sign-out."""

from __future__ import annotations

from scimhub.scim.types import TenantId
from scimhub.store.database import Database
from scimhub.store.sessions import SessionStore
from scimhub.store.tenants import TenantStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _admin(tenants: TenantStore) -> tuple[TenantId, str]:
    tenants.create("acme", "admin@acme.example", "pw-long-enough")
    admin = tenants.sign_in("admin@acme.example", "pw-long-enough")
    assert admin is not None
    return admin.tenant_id, admin.id


def test_a_session_finds_its_admin_and_tenant(db: Database, tenants: TenantStore) -> None:
    tenant_id, admin_id = _admin(tenants)
    store = SessionStore(db)
    session_id = store.start(tenant_id, admin_id)
    found = store.find(session_id)
    assert found is not None
    assert (found.tenant_id, found.tenant_name, found.email) == (tenant_id, "acme",
                                                                 "admin@acme.example")
    assert store.find(session_id + "x") is None


def test_session_ids_are_256_bit_and_stored_hashed(db: Database, tenants: TenantStore) -> None:
    tenant_id, admin_id = _admin(tenants)
    session_id = SessionStore(db).start(tenant_id, admin_id)
    assert len(session_id) >= 43  # 32 random bytes, base64url
    with db.engine.connect() as conn:
        dump = str(list(conn.exec_driver_sql("SELECT * FROM console_sessions")))
    assert session_id not in dump


def test_sessions_expire_absolutely_and_when_idle(db: Database, tenants: TenantStore) -> None:
    tenant_id, admin_id = _admin(tenants)
    clock = FakeClock()
    store = SessionStore(db, lifetime=1000, idle=300, clock=clock)
    idle = store.start(tenant_id, admin_id)
    busy = store.start(tenant_id, admin_id)
    for _ in range(3):
        clock.now += 250
        assert store.find(busy) is not None
    assert store.find(idle) is None
    clock.now = 1_700_000_000.0 + 1000
    assert store.find(busy) is None


def test_sign_out_ends_the_session(db: Database, tenants: TenantStore) -> None:
    tenant_id, admin_id = _admin(tenants)
    store = SessionStore(db)
    session_id = store.start(tenant_id, admin_id)
    store.end(session_id)
    assert store.find(session_id) is None
