"""The console's tables: sign-in sessions, failed sign-ins (for the lockout), the audit log.

Defined on the same ``metadata`` as the SCIM tables, so that the migrations and
their test cover them. Security timers (sessions, lockout) are Unix seconds,
because the code does arithmetic on them; the audit log keeps the canonical
UTC string of ``meta`` dates, because people read it and filter it by time.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from scimhub.store.tables import SerialId, metadata

console_sessions = Table(
    "console_sessions",
    metadata,
    # SHA-256 of the random session id: the database alone cannot be used to sign in.
    Column("id_hash", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("admin_id", String(36), nullable=False, index=True),
    Column("created", Integer, nullable=False),
    Column("last_seen", Integer, nullable=False),
    Column("expires", Integer, nullable=False, index=True),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    ForeignKeyConstraint(["admin_id"], ["admins.id"], ondelete="CASCADE"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    # Any e-mail that was tried, known or not, so the lockout tells nothing about accounts.
    Column("email", String(320), nullable=False),
    Column("at", Integer, nullable=False, index=True),
    #: The client address the attempt came from ("" when unknown): a lockout holds per
    #: e-mail and address, and an address that tries many e-mails is throttled on its own.
    Column("client", String(64), nullable=False, server_default=""),
    Index("ix_login_failures_email", "email", "at"),
    Index("ix_login_failures_client", "client", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), nullable=False),
    Column("at", String(32), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("resource_type", String(16)),
    Column("resource_id", String(200)),
    Column("client", String(64)),
    Column("status", Integer, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("detail", Text),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_audit_log_tenant_at", "tenant_id", "at"),
    Index("ix_audit_log_resource", "tenant_id", "resource_id", "at"),
    # The retention sweep deletes by age across tenants (0011).
    Index("ix_audit_log_at", "at"),
)

tenant_sso = Table(
    "tenant_sso",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("issuer", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    # Sealed under the external key (security.TokenVault), as revealable API tokens are.
    Column("client_secret_sealed", Text, nullable=False),
    #: What the sign-in page's button names ("Sign in with <display_name>").
    Column("display_name", String(100), nullable=False),
    Column("updated", String(32), nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

sso_pending = Table(
    "sso_pending",
    metadata,
    # SHA-256 of the ``state`` sent to the provider: consumed (deleted) by the one callback.
    Column("state_hash", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("next_url", Text, nullable=False, server_default="/"),
    Column("expires", Integer, nullable=False, index=True),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

admin_invitations = Table(
    "admin_invitations",
    metadata,
    # SHA-256 of the invitation link's secret.
    Column("id_hash", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False, index=True),
    Column("email", String(320), nullable=False),
    Column("invited_by", String(36), nullable=True),
    Column("created", Integer, nullable=False),
    Column("expires", Integer, nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

console_events = Table(
    "console_events",
    metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    # NULL for an attempt that named no tenant (a failed sign-in with an unknown e-mail).
    Column("tenant_id", String(36), nullable=True),
    Column("at", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    #: The admin's e-mail (or the e-mail tried, for a failed sign-in).
    Column("actor", String(320), nullable=True),
    Column("client", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    Index("ix_console_events_tenant_at", "tenant_id", "at"),
    Index("ix_console_events_at", "at"),
)
