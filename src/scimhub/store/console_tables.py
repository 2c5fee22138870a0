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
)
