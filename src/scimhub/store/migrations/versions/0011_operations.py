"""Running scimhub in production: per-tenant rate limits, console SSO, admins, console events.

- ``tenants.rate_limit``: the tenant's own request limit ("200/s", "off"), or NULL for the
  server's default (``scimhub tenant limit``).
- ``tenants.require_sso``: password sign-in refused for every admin but the first.
- ``tenant_sso``: a tenant's OpenID Connect sign-in (issuer, client id, the client secret
  sealed under the external key as API tokens are).
- ``sso_pending``: one row per SSO sign-in under way (the hash of its ``state``, its nonce and
  PKCE verifier), consumed once by the callback.
- ``admin_invitations``: an invitation link's hash, for whom, by whom, until when.
- ``console_events``: security-relevant console actions (who, when, from where).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN, never batch mode's copy of the table: on SQLite that copy
    # drops ``tenants``, and the drop cascades to every row that references a tenant.
    op.add_column("tenants", sa.Column("rate_limit", sa.String(32), nullable=True))
    op.add_column("tenants", sa.Column("require_sso", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        "tenant_sso",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("client_secret_sealed", sa.Text(), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("updated", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "sso_pending",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next_url", sa.Text(), nullable=False, server_default="/"),
        sa.Column("expires", sa.Integer(), nullable=False, index=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "admin_invitations",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False, index=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("invited_by", sa.String(36), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("expires", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "console_events",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(36), nullable=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(320), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_console_events_tenant_at", "console_events", ["tenant_id", "at"])
    op.create_index("ix_console_events_at", "console_events", ["at"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", "audit_log")
    op.drop_table("console_events")
    op.drop_table("admin_invitations")
    op.drop_table("sso_pending")
    op.drop_table("tenant_sso")
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), for the reason upgrade() gives.
    op.execute("ALTER TABLE tenants DROP COLUMN require_sso")
    op.execute("ALTER TABLE tenants DROP COLUMN rate_limit")
