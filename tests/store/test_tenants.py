"""Tenants, tokens and admins in storage."""

from __future__ import annotations

import pytest

from scimhub.store.tenants import TenantExists, TenantStore


def test_token_authenticates_its_tenant_only(tenants: TenantStore) -> None:
    a, token_a = tenants.create("a", "admin@a.example", "pw-a-long-enough")
    b, token_b = tenants.create("b", "admin@b.example", "pw-b-long-enough")
    assert tenants.authenticate(token_a) == a.id
    assert tenants.authenticate(token_b) == b.id
    assert tenants.authenticate(token_a[:-1] + ("x" if token_a[-1] != "x" else "y")) is None
    assert tenants.authenticate("scimhub_000000000000_nope") is None
    assert tenants.authenticate("garbage") is None


def test_reset_revokes_the_old_token_at_once(tenants: TenantStore) -> None:
    t, old = tenants.create("t", "admin@t.example", "pw-t-long-enough")
    new = tenants.reset_token(t.id)
    assert new != old
    assert tenants.authenticate(old) is None
    assert tenants.authenticate(new) == t.id
    assert tenants.reveal_token(t.id) == new


def test_plain_token_and_password_are_never_stored(tenants: TenantStore) -> None:
    _t, token = tenants.create("s", "admin@s.example", "a secret password")
    with tenants.db.engine.connect() as conn:
        dump = "\n".join(str(row) for table in ("tenants", "admins", "api_tokens")
                         for row in conn.exec_driver_sql(f"SELECT * FROM {table}"))
    assert token not in dump
    assert token.split("_")[2] not in dump
    assert "a secret password" not in dump


def test_duplicate_tenant_name_is_refused(tenants: TenantStore) -> None:
    tenants.create("dup", "one@dup.example", "pw-long-enough")
    with pytest.raises(TenantExists):
        tenants.create("dup", "two@dup.example", "pw-long-enough")


def test_sign_in_checks_the_password_hash(tenants: TenantStore) -> None:
    t, _ = tenants.create("c", "Admin@C.example", "right password")
    admin = tenants.sign_in("admin@c.example", "right password")
    assert admin is not None and admin.tenant_id == t.id
    assert tenants.sign_in("admin@c.example", "wrong password") is None
    assert tenants.sign_in("nobody@c.example", "right password") is None
