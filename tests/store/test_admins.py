"""Admins of a tenant: added, listed, removed (never the last, never another tenant's), their
passwords changed; invitations; and the retention purge of both logs. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from scimhub.scim.resource import format_datetime
from scimhub.scim.types import TenantId
from scimhub.security import hash_password, verify_password
from scimhub.store.admins import (
    AdminExists,
    LastAdmin,
    NoSuchAdmin,
    add_admin,
    change_password,
    list_admins,
    password_problem,
    remove_admin,
    tenant_of_email,
)
from scimhub.store.audit import AuditEntry, AuditStore
from scimhub.store.console_tables import audit_log, console_events, console_sessions
from scimhub.store.database import Database
from scimhub.store.events import ConsoleEvents
from scimhub.store.invitations import InvitationGone, Invitations
from scimhub.store.sessions import SessionStore
from scimhub.store.tables import admins
from scimhub.store.tenants import TenantStore

PASSWORD = "correct horse battery"
#: Hashed once: Argon2 takes tens of milliseconds, and these tests are about the store.
HASH = hash_password("another long password")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _tenant(tenants: TenantStore, name: str = "acme") -> tuple[TenantId, str]:
    tenants.create(name, f"admin@{name}.example", PASSWORD)
    admin = tenants.sign_in(f"admin@{name}.example", PASSWORD)
    assert admin is not None
    return admin.tenant_id, admin.id


def test_added_admins_are_listed_and_can_sign_in(db: Database, tenants: TenantStore) -> None:
    tenant, _ = _tenant(tenants)
    add_admin(db, tenant, "  New@Acme.Example ", hash_password("a long new password"))
    assert [a.email for a in list_admins(db, tenant)] == ["admin@acme.example",
                                                          "new@acme.example"]
    signed_in = tenants.sign_in("new@acme.example", "a long new password")
    assert signed_in is not None and signed_in.tenant_id == tenant
    assert tenant_of_email(db, "NEW@acme.example") == tenant
    assert tenant_of_email(db, "nobody@acme.example") is None


def test_an_email_is_an_admin_of_one_tenant_only(db: Database, tenants: TenantStore) -> None:
    acme, _ = _tenant(tenants)
    globex, _ = _tenant(tenants, "globex")
    with pytest.raises(AdminExists):
        add_admin(db, acme, "admin@globex.example", HASH)
    with pytest.raises(AdminExists):
        add_admin(db, globex, "ADMIN@acme.example", HASH)
    with pytest.raises(AdminExists):
        Invitations(db).create(acme, "admin@globex.example", "x")
    # The failed attempts left the transaction clean: the next add works (PostgreSQL aborts a
    # transaction on a failed statement).
    add_admin(db, acme, "second@acme.example", HASH)


def test_the_then_callback_commits_with_the_change_or_not_at_all(
    db: Database, tenants: TenantStore,
) -> None:
    tenant, _ = _tenant(tenants)
    events = ConsoleEvents(db)
    add_admin(db, tenant, "a@acme.example", HASH, then=lambda tx: events.record(
        tenant, "admin_added", actor="admin@acme.example", client="127.0.0.1", tx=tx))
    with pytest.raises(AdminExists):
        add_admin(db, tenant, "a@acme.example", HASH, then=lambda tx: events.record(
            tenant, "admin_added", actor="admin@acme.example", client="127.0.0.1", tx=tx))
    assert [e.action for e in events.page(tenant)[0]] == ["admin_added"]


def test_removing_an_admin_ends_their_sessions(db: Database, tenants: TenantStore) -> None:
    tenant, first = _tenant(tenants)
    second = add_admin(db, tenant, "second@acme.example", HASH)
    sessions = SessionStore(db)
    theirs, mine = sessions.start(tenant, second), sessions.start(tenant, first)
    assert remove_admin(db, tenant, second, by=first) == "second@acme.example"
    assert sessions.find(theirs) is None
    assert sessions.find(mine) is not None
    with db.read() as tx:  # the foreign key's cascade deleted the row, not a filter
        assert tx.scalar(select(func.count()).select_from(console_sessions)
                         .where(console_sessions.c.admin_id == second)) == 0
    assert [a.email for a in list_admins(db, tenant)] == ["admin@acme.example"]


def test_the_last_admin_cannot_be_removed(db: Database, tenants: TenantStore) -> None:
    tenant, only = _tenant(tenants)
    with pytest.raises(LastAdmin):
        remove_admin(db, tenant, only, by=only)
    assert len(list_admins(db, tenant)) == 1


def test_another_tenants_admin_cannot_be_removed(db: Database, tenants: TenantStore) -> None:
    acme, acme_admin = _tenant(tenants)
    globex, globex_admin = _tenant(tenants, "globex")
    add_admin(db, globex, "second@globex.example", HASH)
    add_admin(db, acme, "second@acme.example", HASH)
    with pytest.raises(NoSuchAdmin):
        remove_admin(db, acme, globex_admin, by=acme_admin)
    assert len(list_admins(db, globex)) == 2


def test_concurrent_removals_never_remove_the_last_two(
    db: Database, tenants: TenantStore,
) -> None:
    """Two admins remove each other at the same moment, many times over: one removal wins,
    the other is refused, and the tenant always keeps one admin."""
    for round_ in range(10):
        tenant, first = _tenant(tenants, f"race{round_}")
        second = add_admin(db, tenant, f"second@race{round_}.example", HASH)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def remove(target: str, by: str, tenant: TenantId = tenant,
                   barrier: threading.Barrier = barrier, outcomes: list[str] = outcomes,
                   ) -> None:
            barrier.wait()
            try:
                remove_admin(db, tenant, target, by=by)
                outcomes.append("removed")
            except (LastAdmin, NoSuchAdmin) as exc:
                outcomes.append(type(exc).__name__)

        threads = [threading.Thread(target=remove, args=(second, first)),
                   threading.Thread(target=remove, args=(first, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes)[1:] == ["removed"] and len(outcomes) == 2, outcomes
        assert len(list_admins(db, tenant)) == 1


def test_changing_the_password_ends_the_other_sessions(
    db: Database, tenants: TenantStore,
) -> None:
    tenant, admin = _tenant(tenants)
    sessions = SessionStore(db)
    here, there, elsewhere = (sessions.start(tenant, admin) for _ in range(3))
    assert sessions.count_others(admin, here) == 2
    ended = change_password(db, tenant, admin, hash_password("a brand new password"), here)
    assert ended == 2
    assert sessions.find(here) is not None
    assert sessions.find(there) is None and sessions.find(elsewhere) is None
    assert tenants.sign_in("admin@acme.example", PASSWORD) is None
    assert tenants.sign_in("admin@acme.example", "a brand new password") is not None
    with pytest.raises(NoSuchAdmin):  # scoped by tenant: never another tenant's admin
        globex, _ = _tenant(tenants, "globex")
        change_password(db, globex, admin, HASH, here)


def test_ending_other_sessions_keeps_this_one_and_others_admins(
    db: Database, tenants: TenantStore,
) -> None:
    tenant, admin = _tenant(tenants)
    colleague = add_admin(db, tenant, "colleague@acme.example", HASH)
    sessions = SessionStore(db)
    here, there = sessions.start(tenant, admin), sessions.start(tenant, admin)
    theirs = sessions.start(tenant, colleague)
    assert sessions.end_others(admin, here) == 1
    assert sessions.find(here) is not None and sessions.find(theirs) is not None
    assert sessions.find(there) is None
    assert sessions.count_others(admin, here) == 0


def test_password_policy() -> None:
    assert password_problem("short") is not None
    assert password_problem("x" * 11) is not None
    assert password_problem("x" * 12) is None
    assert password_problem("x" * 1001) is not None


def test_an_invitation_is_accepted_once(db: Database, tenants: TenantStore) -> None:
    tenant, admin = _tenant(tenants)
    invitations = Invitations(db)
    secret = invitations.create(tenant, "New@Acme.example", admin)
    with db.read() as tx:  # only the secret's digest is stored
        stored = tx.all(select(*admins.c).where(admins.c.email == "new@acme.example"))
        assert stored == []
    found = invitations.find(secret)
    assert found is not None and (found.email, found.tenant_name) == ("new@acme.example",
                                                                      "acme")
    assert [p.email for p in invitations.pending(tenant)] == ["new@acme.example"]
    assert invitations.pending(tenant)[0].invited_by == "admin@acme.example"
    invitation, new_id = invitations.accept(secret, hash_password("the new admin's password"))
    assert invitation.email == "new@acme.example"
    signed_in = tenants.sign_in("new@acme.example", "the new admin's password")
    assert signed_in is not None and signed_in.id == new_id and signed_in.tenant_id == tenant
    assert invitations.find(secret) is None
    with pytest.raises(InvitationGone):
        invitations.accept(secret, HASH)
    assert invitations.pending(tenant) == []


def test_invitation_secrets_are_stored_hashed(db: Database, tenants: TenantStore) -> None:
    from scimhub.store.console_tables import admin_invitations

    tenant, admin = _tenant(tenants)
    secret = Invitations(db).create(tenant, "new@acme.example", admin)
    assert len(secret) >= 43
    with db.read() as tx:
        rows = tx.all(select(*admin_invitations.c))
    assert len(rows) == 1 and secret not in repr(rows)


def test_an_invitation_expires(db: Database, tenants: TenantStore) -> None:
    tenant, admin = _tenant(tenants)
    clock = Clock()
    invitations = Invitations(db, ttl=72 * 3600, clock=clock)
    secret = invitations.create(tenant, "new@acme.example", admin)
    clock.now += 72 * 3600 - 1
    assert invitations.find(secret) is not None
    clock.now += 1
    assert invitations.find(secret) is None
    with pytest.raises(InvitationGone):
        invitations.accept(secret, HASH)
    assert tenant_of_email(db, "new@acme.example") is None


def test_a_new_invitation_replaces_the_earlier_one_and_revoking_is_scoped(
    db: Database, tenants: TenantStore,
) -> None:
    tenant, admin = _tenant(tenants)
    globex, _ = _tenant(tenants, "globex")
    invitations = Invitations(db)
    old = invitations.create(tenant, "new@acme.example", admin)
    new = invitations.create(tenant, "new@acme.example", admin)
    assert invitations.find(old) is None and invitations.find(new) is not None
    [pending] = invitations.pending(tenant)
    assert invitations.revoke(globex, pending.id) is None
    assert invitations.find(new) is not None
    assert invitations.revoke(tenant, pending.id) == "new@acme.example"
    assert invitations.find(new) is None


def test_accepting_when_the_email_became_an_admin_meanwhile(
    db: Database, tenants: TenantStore,
) -> None:
    tenant, admin = _tenant(tenants)
    globex, _ = _tenant(tenants, "globex")
    invitations = Invitations(db)
    secret = invitations.create(tenant, "new@acme.example", admin)
    add_admin(db, globex, "new@acme.example", HASH)
    with pytest.raises(AdminExists):
        invitations.accept(secret, hash_password("a long enough one"))
    assert invitations.find(secret) is None  # consumed: nothing left for it to do
    assert tenant_of_email(db, "new@acme.example") == globex
    assert not verify_password("a long enough one", HASH)


def _at(days_ago: float) -> str:
    return format_datetime(datetime.now(UTC) - timedelta(days=days_ago))


def test_purge_deletes_entries_older_than_the_cutoff_in_batches(
    db: Database, tenants: TenantStore,
) -> None:
    tenant, _ = _tenant(tenants)
    audit, events = AuditStore(db), ConsoleEvents(db)
    entries = [(tenant, AuditEntry(_at(days), "POST", "/scim/v2/Users", "User", str(n),
                                   "127.0.0.1", 201, 1))
               for n, days in enumerate([100, 95, 91] * 4 + [89, 1, 0])]
    cutoff = _at(90)
    entries.append((tenant, AuditEntry(cutoff, "DELETE", "/scim/v2/Users/x", "User", "x",
                                       None, 204, 1)))  # exactly at the cutoff: kept
    audit.record(entries)
    with db.engine.begin() as conn:
        conn.execute(insert(console_events), [
            {"tenant_id": t, "at": _at(days), "action": "sign_in", "actor": "a@acme.example",
             "client": None, "detail": None}
            for t, days in [(tenant, 120), (None, 91), (tenant, 89), (None, 0)]])
    assert audit.purge(cutoff, batch=5) == 12  # three batches: 5, 5, 2
    assert events.purge(cutoff, batch=1) == 2
    with db.read() as tx:
        kept_audit = sorted(str(r[0]) for r in tx.all(select(audit_log.c.at)))
        kept_events = sorted(str(r[0]) for r in tx.all(select(console_events.c.at)))
    assert len(kept_audit) == 4 and all(at >= cutoff for at in kept_audit)
    assert len(kept_events) == 2 and all(at >= cutoff for at in kept_events)
    assert audit.purge(cutoff) == 0
